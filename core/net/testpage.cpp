#include "net/testpage.h"

#include <QFile>

// Q_INIT_RESOURCE must be used outside any namespace.
static void initWebResources() {
    Q_INIT_RESOURCE(wsresources);
}

namespace ws {

QByteArray browserTestPage() {
    static const QByteArray page = [] {
        initWebResources();
        QFile file(QStringLiteral(":/web/index.html"));
        return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
    }();
    return page;
}

PlainHttpAnswer answerPlainHttp(const HttpRequest &request, bool serveTestPage) {
    QByteArray path = request.target;
    if (const qsizetype query = path.indexOf('?'); query >= 0)
        path.truncate(query);

    PlainHttpAnswer answer;
    if (!serveTestPage) {
        answer.status = 426;
        HttpHeaders headers;
        headers.add("Sec-WebSocket-Version", "13");
        answer.response = ServerHandshake::httpResponse(
            answer.status, "Upgrade Required", "text/plain; charset=utf-8",
            "This is a WebSocket server: connect with a WebSocket client.\n", headers);
    } else if (request.method != "GET") {
        answer.status = 405;
        HttpHeaders headers;
        headers.add("Allow", "GET");
        answer.response = ServerHandshake::httpResponse(answer.status, "Method Not Allowed",
                                                        "text/plain; charset=utf-8",
                                                        "Only GET is served here.\n", headers);
    } else if (path == "/" || path == "/index.html") {
        HttpHeaders headers;
        headers.add("Cache-Control", "no-store");
        answer.response = ServerHandshake::httpResponse(
            answer.status, "OK", "text/html; charset=utf-8", browserTestPage(), headers);
    } else {
        answer.status = 404;
        answer.response =
            ServerHandshake::httpResponse(answer.status, "Not Found", "text/plain; charset=utf-8",
                                          "Nothing here. The WebSocket test page is at /.\n");
    }
    return answer;
}

} // namespace ws
