# Finds the Debian 12 packages Escala builds on (see scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS system url)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(date CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(tomlplusplus CONFIG REQUIRED)
find_package(GTest CONFIG REQUIRED)
find_package(benchmark CONFIG QUIET)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)

# SOCI 4.0.3 ships neither a CMake config nor a .pc file: declare imported targets for
# the static libraries so backends are linked in, never dlopen'ed at run time.
find_path(SOCI_INCLUDE_DIR soci/soci.h REQUIRED)
find_library(SOCI_CORE_LIB NAMES libsoci_core.a soci_core REQUIRED)
find_library(SOCI_SQLITE3_LIB NAMES libsoci_sqlite3.a soci_sqlite3 REQUIRED)
find_library(SOCI_POSTGRESQL_LIB NAMES libsoci_postgresql.a soci_postgresql REQUIRED)
add_library(soci::core UNKNOWN IMPORTED)
set_target_properties(soci::core PROPERTIES
  IMPORTED_LOCATION ${SOCI_CORE_LIB}
  INTERFACE_INCLUDE_DIRECTORIES ${SOCI_INCLUDE_DIR}
  INTERFACE_LINK_LIBRARIES "Boost::headers;${CMAKE_DL_LIBS};Threads::Threads")
add_library(soci::sqlite3 UNKNOWN IMPORTED)
set_target_properties(soci::sqlite3 PROPERTIES
  IMPORTED_LOCATION ${SOCI_SQLITE3_LIB}
  INTERFACE_LINK_LIBRARIES "soci::core;SQLite::SQLite3")
add_library(soci::postgresql UNKNOWN IMPORTED)
set_target_properties(soci::postgresql PROPERTIES
  IMPORTED_LOCATION ${SOCI_POSTGRESQL_LIB}
  INTERFACE_LINK_LIBRARIES "soci::core;PostgreSQL::PostgreSQL")

# The email channel: GMime (MIME), libcurl (SMTP relay, IMAP), kainjow mustache (templates).
pkg_check_modules(GMIME REQUIRED IMPORTED_TARGET gmime-3.0)
find_package(CURL REQUIRED)
find_path(MUSTACHE_INCLUDE_DIR kainjow/mustache.hpp REQUIRED)
