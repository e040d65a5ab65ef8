#pragma once

#include "protocol/handshake.h"

#include <QByteArray>

namespace ws {

// The HTML of the browser test page served at GET / (from the ws::resources
// library): it connects back to ws://<location.host>/.
QByteArray browserTestPage();

// A server's answer to a plain HTTP request on its WebSocket port (no Upgrade):
// the test page at GET / and /index.html when `serveTestPage`, 404 elsewhere, 405
// for other methods; 426 Upgrade Required for everything when the page is off.
struct PlainHttpAnswer {
    int status = 200;
    QByteArray response; // status line, headers and body, ready to write
};
PlainHttpAnswer answerPlainHttp(const HttpRequest &request, bool serveTestPage);

} // namespace ws
