#include "commandline.h"

#include "output.h"

#include "net/tlscertificate.h"

#include <QFileInfo>
#include <QSslCertificate>
#include <QUrl>

namespace ws {

QCommandLineOption makeOption(const char *names, const char *description, const char *valueName) {
    const QStringList list = QString::fromUtf8(names).split(QLatin1Char(','));
    if (!valueName)
        return QCommandLineOption(list, QString::fromUtf8(description));
    return QCommandLineOption(list, QString::fromUtf8(description), QString::fromUtf8(valueName));
}

QCommandLineOption maxMessageSizeOption() {
    return makeOption("max-message-size", "Largest message accepted (1009 beyond).", "bytes");
}

QCommandLineOption caOption() {
    return makeOption("ca", "wss: also trust the CA certificates in this PEM file.", "file");
}

QCommandLineOption acceptFingerprintOption() {
    return makeOption("accept-fingerprint",
                      "wss: accept the one server certificate with this SHA-256 fingerprint "
                      "(AB:CD:... as the error message shows it), even self-signed.",
                      "sha256");
}

QCommandLineOption saveOption() {
    return makeOption("save",
                      "Write every event to this file as it happens, as JSON Lines: the log "
                      "format the window saves and opens (.jsonl is added when the name has "
                      "no extension).",
                      "file");
}

QString saveFileName(const QString &value) {
    if (QFileInfo(value).suffix().isEmpty())
        return value + QLatin1String(".jsonl");
    return value;
}

std::unique_ptr<log::JsonLinesRecorder> openSaveFile(const QString &value, QString *error) {
    auto recorder = std::make_unique<log::JsonLinesRecorder>();
    if (!recorder->open(saveFileName(value), error))
        return nullptr;
    return recorder;
}

QString caFileError(const QString &path) {
    if (!QFileInfo(path).isReadable())
        return QStringLiteral("--ca: cannot read %1").arg(path);
    if (QSslCertificate::fromPath(path, QSsl::Pem).isEmpty())
        return QStringLiteral("--ca: no PEM certificate could be read from %1").arg(path);
    return {};
}

std::optional<QString> CommandLine::readTrust(const QCommandLineOption &ca,
                                              const QCommandLineOption &acceptFingerprint,
                                              QString *caFile, QByteArray *fingerprint) const {
    if (isSet(ca)) {
        // Checked now, not once connected: a typo is a usage error.
        const QString path = value(ca);
        if (QString error = caFileError(path); !error.isEmpty())
            return error;
        *caFile = path;
    }
    if (isSet(acceptFingerprint)) {
        *fingerprint = parseFingerprint(value(acceptFingerprint));
        if (fingerprint->isEmpty())
            return QStringLiteral("--accept-fingerprint expects a SHA-256 fingerprint: 32 hex "
                                  "bytes, with or without colons");
    }
    return std::nullopt;
}

QString deflateTuningNeedsDeflateMessage() {
    return QStringLiteral("--deflate-window-bits and --deflate-no-context-takeover need "
                          "--deflate");
}

CommandLine::CommandLine(const char *command, const QString &description, int usageErrorStatus)
    : m_command(command)
    , m_usageErrorStatus(usageErrorStatus) {
    m_parser.setApplicationDescription(description);
    m_parser.addHelpOption();
}

void CommandLine::addPositionalArgument(const QString &name, const QString &description) {
    m_parser.addPositionalArgument(name, description);
}

void CommandLine::addOptions(const QList<QCommandLineOption> &options) {
    m_parser.addOptions(options);
}

std::optional<int> CommandLine::parse(const QStringList &arguments) {
    if (!m_parser.parse(arguments))
        return usageError(m_parser.errorText());
    if (m_parser.isSet(QStringLiteral("help"))) {
        writeLine(stdout, commandHelp(m_parser, m_command.constData()));
        return 0;
    }
    return std::nullopt;
}

void CommandLine::printError(const QString &message) const {
    writeLine(stderr, "wsw " + m_command + ": " + message.toUtf8());
}

int CommandLine::usageError(const QString &message) const {
    printError(message);
    return m_usageErrorStatus;
}

std::optional<WebSocketUrl> CommandLine::webSocketUrl() const {
    const QStringList arguments = m_parser.positionalArguments();
    if (arguments.size() != 1) {
        printError(QStringLiteral("expects exactly one URL, e.g. wsw %1 ws://127.0.0.1:9001/")
                       .arg(QString::fromUtf8(m_command)));
        return std::nullopt;
    }
    QString error;
    std::optional<WebSocketUrl> url =
        parseWebSocketUrl(QUrl(arguments.constFirst(), QUrl::StrictMode), &error);
    if (!url)
        printError(error);
    return url;
}

bool CommandLine::isSet(const QCommandLineOption &option) const {
    return m_parser.isSet(option);
}

QString CommandLine::value(const QCommandLineOption &option) const {
    return m_parser.value(option);
}

QStringList CommandLine::values(const QCommandLineOption &option) const {
    return m_parser.values(option);
}

QList<QByteArray> CommandLine::utf8Values(const QCommandLineOption &option) const {
    QList<QByteArray> values;
    for (const QString &value : m_parser.values(option))
        values.append(value.toUtf8());
    return values;
}

QStringList CommandLine::positionalArguments() const {
    return m_parser.positionalArguments();
}

std::optional<qint64> CommandLine::integerValue(const QCommandLineOption &option, qint64 min,
                                                qint64 max) const {
    return wholeNumber(m_parser.value(option), min, max);
}

std::optional<qint64> wholeNumber(QStringView text, qint64 min, qint64 max) {
    bool ok = false;
    const qint64 value = text.toLongLong(&ok);
    if (!ok || value < min || value > max)
        return std::nullopt;
    return value;
}

} // namespace ws
