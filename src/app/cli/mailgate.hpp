#pragma once
// `escala mailgate`: the mail gateway for an MTA pipe (Postfix `pipe`, Exim `pipe`,
// procmail, fetchmail's mda). Reads one message on stdin and hands it to the running
// desk (POST /api/v1/mail/inbound, authenticated by the desk's mailgate secret). Exits 0
// only after the desk answered that the message is stored; otherwise with a sysexits(3)
// code the MTA understands:
//   75 EX_TEMPFAIL  the desk is unreachable or answered 5xx/429: the MTA keeps the message
//                   and retries later
//   65 EX_DATAERR   the desk refused the message itself (empty, too large): the MTA bounces
//   77 EX_NOPERM    the secret is wrong
//   64 EX_USAGE     bad arguments

#include <string>

namespace escala::app {

struct MailgateOptions {
  std::string data_dir = "./data";  // ports.json and mailgate.token come from here
  std::string url;         // default: http://127.0.0.1:<http port in ports.json>
  std::string token_file;  // default: DATA_DIR/mailgate.token
  std::string recipient;   // the mailbox the MTA delivered to (e.g. $RECIPIENT)
  std::string sender;      // the envelope sender (e.g. $SENDER)
  int timeout_seconds = 120;
  long long max_bytes = 64LL * 1024 * 1024;
};

int mailgate(const MailgateOptions& options);

}  // namespace escala::app
