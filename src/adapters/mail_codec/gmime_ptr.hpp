#pragma once
// Ownership of GMime/GLib objects, private to adapters/mail_codec: every object GMime
// hands over with "transfer full" goes straight into one of these, so early returns
// cannot leak.

#include <gmime/gmime.h>

#include <memory>

namespace escala::adapters::mail_codec_internal {

struct GObjectUnref {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <typename T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
  void operator()(void* p) const { g_free(p); }
};
using GCharPtr = std::unique_ptr<char, GFree>;

}  // namespace escala::adapters::mail_codec_internal
