#include "netoptions.h"

#include "net/httpproxy.h"
#include "net/tlscertificate.h"

#include <QFileInfo>
#include <QSslCertificate>

#include <limits>

namespace ws {

namespace {

constexpr qint64 IntMax = std::numeric_limits<int>::max();

QString integerError(const QCommandLineOption &option, qint64 min) {
    return QStringLiteral("--%1 expects milliseconds from %2 to %3")
        .arg(option.names().constFirst())
        .arg(min)
        .arg(IntMax);
}

} // namespace

ConnectNetOptions::ConnectNetOptions()
    : m_proxy(makeOption("proxy",
                         "Connect through this HTTP proxy (a CONNECT tunnel), with Basic "
                         "authentication when it has user:password@. Default: the http_proxy "
                         "(ws://) or https_proxy (wss://) variable, unless no_proxy lists the "
                         "host; loopback hosts are always reached directly.",
                         "http://[user:password@]host:port"))
    , m_noProxy(makeOption("no-proxy", "Connect directly, whatever the proxy variables say."))
    , m_unix(makeOption("unix",
                        "Connect to this Unix domain socket; the URL still gives the Host and the "
                        "path (ws+unix:///path/to.sock[:/request/path] names both at once).",
                        "path"))
    , m_connectTimeout(makeOption(
          "connect-timeout",
          "Give up when the TCP connection (or the proxy's tunnel) is not up within this "
          "long (default 10000).",
          "ms"))
    , m_handshakeTimeout(makeOption(
          "handshake-timeout",
          "Give up when the TLS and opening handshakes take longer (default 10000).", "ms"))
    , m_pingInterval(makeOption("ping-interval",
                                "Ping after this long without hearing from the server; when "
                                "nothing arrives for twice as long, the server is taken for "
                                "dead and the connection dropped (1006). 0: never (default).",
                                "ms"))
    , m_reconnectOption(makeOption(
          "reconnect", "When the connection ends without our asking (the server closed or "
                       "vanished, or connecting failed), connect again; until end of input or "
                       "a signal."))
    , m_reconnectDelay(makeOption("reconnect-delay",
                                  "With --reconnect: wait this long first (default 1000).", "ms"))
    , m_cert(makeOption("cert",
                        "wss: our client certificate (PEM), for servers that ask for "
                        "one.",
                        "file"))
    , m_key(makeOption("key", "wss: the private key of --cert (PEM, unencrypted).", "file")) {}

QList<QCommandLineOption> ConnectNetOptions::options() const {
    return {
        m_proxy,        m_noProxy,         m_unix,           m_connectTimeout, m_handshakeTimeout,
        m_pingInterval, m_reconnectOption, m_reconnectDelay, m_cert,           m_key};
}

std::optional<QString> ConnectNetOptions::apply(const CommandLine &commandLine,
                                                ClientOptions *client) {
    if (!commandLine.readInteger(m_connectTimeout, 1, IntMax, &client->connectTimeoutMs))
        return integerError(m_connectTimeout, 1);
    if (!commandLine.readInteger(m_handshakeTimeout, 1, IntMax, &client->handshakeTimeoutMs))
        return integerError(m_handshakeTimeout, 1);
    if (!commandLine.readInteger(m_pingInterval, 0, IntMax / 2, &client->keepaliveIntervalMs))
        return integerError(m_pingInterval, 0);
    m_reconnect = commandLine.isSet(m_reconnectOption);
    if (!commandLine.readInteger(m_reconnectDelay, 0, IntMax, &m_reconnectDelayMs))
        return integerError(m_reconnectDelay, 0);
    if (commandLine.isSet(m_reconnectDelay) && !m_reconnect)
        return QStringLiteral("--reconnect-delay needs --reconnect");

    const std::optional<WebSocketUrl> url = parseWebSocketUrl(client->url);
    if (!url)
        return QStringLiteral("not a WebSocket URL");

    // Files are checked now: a mistake in a name should not wait for the server.
    if (!client->caCertificatesFile.isEmpty()) {
        const QString &file = client->caCertificatesFile;
        if (!QFileInfo(file).isReadable())
            return QStringLiteral("--ca: cannot read %1").arg(file);
        if (QSslCertificate::fromPath(file, QSsl::Pem).isEmpty())
            return QStringLiteral("--ca: no PEM certificate in %1").arg(file);
    }
    if (commandLine.isSet(m_cert) != commandLine.isSet(m_key))
        return QStringLiteral("--cert and --key go together");
    if (commandLine.isSet(m_cert)) {
        if (!url->secure)
            return QStringLiteral("--cert and --key are for wss:// URLs");
        QString error;
        const std::optional<CertificateAndKey> identity =
            loadCertificate(commandLine.value(m_cert), commandLine.value(m_key), &error);
        if (!identity)
            return error;
        client->clientCertificate = identity->certificate;
        client->clientKey = identity->key;
    }

    if (commandLine.isSet(m_unix)) {
        if (!url->unixSocketPath.isEmpty())
            return QStringLiteral("--unix and a ws+unix URL both name a socket: give one");
        client->unixSocketPath = commandLine.value(m_unix);
    }
    const bool unixSocket = !client->unixSocketPath.isEmpty() || !url->unixSocketPath.isEmpty();
    if (commandLine.isSet(m_proxy)) {
        if (commandLine.isSet(m_noProxy))
            return QStringLiteral("--proxy and --no-proxy contradict each other");
        if (unixSocket)
            return QStringLiteral("a Unix socket is reached directly: --proxy does not apply");
        QString error;
        client->proxy = parseProxyUrl(commandLine.value(m_proxy), &error);
        if (!client->proxy)
            return QStringLiteral("--proxy: %1").arg(error);
    } else if (!commandLine.isSet(m_noProxy) && !unixSocket) {
        const QString fromEnvironment = proxyFromEnvironment(ProxyEnvironment::fromProcess(),
                                                             url->host, url->port, url->secure);
        if (!fromEnvironment.isEmpty()) {
            QString error;
            client->proxy = parseProxyUrl(fromEnvironment, &error);
            if (!client->proxy)
                return QStringLiteral("the %1 variable: %2 (--no-proxy ignores it)")
                    .arg(url->secure ? QLatin1String("https_proxy") : QLatin1String("http_proxy"),
                         error);
        }
    }
    return std::nullopt;
}

QByteArray ConnectNetOptions::reconnectingLine(int delayMs) {
    return "reconnecting in " + QByteArray::number(delayMs) + " ms";
}

ServeNetOptions::ServeNetOptions()
    : m_unix(makeOption("unix",
                        "Listen on this Unix domain socket instead of TCP. A socket file left by "
                        "a server that is gone is replaced; the file is removed at exit.",
                        "path"))
    , m_unixMode(makeOption("unix-mode",
                            "With --unix: the socket file's permissions, in octal (default 600: "
                            "only our user may connect).",
                            "mode")) {}

QList<QCommandLineOption> ServeNetOptions::options() const {
    return {m_unix, m_unixMode};
}

std::optional<QString> ServeNetOptions::apply(const CommandLine &commandLine,
                                              ServerOptions *server) const {
    if (commandLine.isSet(m_unixMode) && !commandLine.isSet(m_unix))
        return QStringLiteral("--unix-mode needs --unix");
    if (!commandLine.isSet(m_unix))
        return std::nullopt;
    if (commandLine.isSet(QCommandLineOption(QStringLiteral("bind"))) ||
        commandLine.isSet(QCommandLineOption(QStringLiteral("port"))))
        return QStringLiteral("--unix listens on a socket file: --bind and --port do not apply");
    server->unixSocketPath = commandLine.value(m_unix);
    if (commandLine.isSet(m_unixMode)) {
        bool ok = false;
        const int mode = commandLine.value(m_unixMode).toInt(&ok, 8);
        if (!ok || mode < 0 || mode > 0777)
            return QStringLiteral("--unix-mode expects octal permissions such as 600 or 660, "
                                  "got %1")
                .arg(commandLine.value(m_unixMode));
        server->unixSocketMode = mode;
    }
    return std::nullopt;
}

QByteArray listeningUrl(const Server &server) {
    const ServerOptions &options = server.options();
    if (!options.unixSocketPath.isEmpty())
        return (options.isSecure() ? "wss+unix://" : "ws+unix://") +
               options.unixSocketPath.toUtf8();
    const QHostAddress address = server.address();
    const QByteArray host = address.protocol() == QAbstractSocket::IPv6Protocol
                                ? '[' + address.toString().toUtf8() + ']'
                                : address.toString().toUtf8();
    return (options.isSecure() ? "wss://" : "ws://") + host + ':' +
           QByteArray::number(server.port()) + '/';
}

} // namespace ws
