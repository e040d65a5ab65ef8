#pragma once

#include "log/jsonlinesrecorder.h"
#include "net/clientconnection.h"

#include <QByteArray>
#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QList>
#include <QString>
#include <QStringList>

#include <memory>
#include <optional>

namespace ws {

// An option the way the commands declare them: its names ("H,header": a short one
// may come first), its help text and, for an option that takes a value, the value's
// name in the help.
QCommandLineOption makeOption(const char *names, const char *description,
                              const char *valueName = nullptr);

// connect and serve: --max-message-size, the largest message a session accepts.
QCommandLineOption maxMessageSizeOption();

// Clients of wss (connect, replay, probe): --ca FILE and --accept-fingerprint SHA256,
// read with CommandLine::readTrust().
QCommandLineOption caOption();
QCommandLineOption acceptFingerprintOption();

// connect and serve: --save FILE, the session log in the window's JSON Lines format.
QCommandLineOption saveOption();
// The file --save writes: its value, with ".jsonl" added when it has no extension.
QString saveFileName(const QString &value);
// The log --save VALUE asks for, opened; null (with *error) when it cannot be.
std::unique_ptr<log::JsonLinesRecorder> openSaveFile(const QString &value, QString *error);
// --ca FILE: empty when the file holds PEM certificates, else why not (a usage error:
// checked before connecting, so a typo is reported at once).
QString caFileError(const QString &path);

// connect and serve: --deflate-window-bits or --deflate-no-context-takeover
// without --deflate.
QString deflateTuningNeedsDeflateMessage();

// A whole number from min to max, or nullopt (option values and parts of them).
std::optional<qint64> wholeNumber(QStringView text, qint64 min, qint64 max);

// One subcommand's command line: a QCommandLineParser plus what every command
// does around it, so that --help, parse errors and usage errors read the same in
// all of them ("wsw serve: --port expects ...").
class CommandLine {
public:
    // `command` names the subcommand in messages and in the help's usage line;
    // `usageErrorStatus` is the command's exit status for a command line it rejects.
    CommandLine(const char *command, const QString &description, int usageErrorStatus);

    void addPositionalArgument(const QString &name, const QString &description);
    void addOptions(const QList<QCommandLineOption> &options);

    // Parses the arguments. nullopt: go on with the command; otherwise the help or
    // the parse error has been printed and the command exits with this status
    // (0 after --help).
    std::optional<int> parse(const QStringList &arguments);

    // The message on stderr after "wsw COMMAND: ".
    void printError(const QString &message) const;
    // printError(), then the usage-error exit status to return.
    int usageError(const QString &message) const;

    // The one positional argument as a WebSocket URL; nullopt once the usage error
    // (no URL, several, or not a ws:// or wss:// one) has been printed.
    std::optional<WebSocketUrl> webSocketUrl() const;

    bool isSet(const QCommandLineOption &option) const;
    QString value(const QCommandLineOption &option) const;
    QStringList values(const QCommandLineOption &option) const;
    // Every value of a repeatable option as it goes on the wire (subprotocols, origins).
    QList<QByteArray> utf8Values(const QCommandLineOption &option) const;
    QStringList positionalArguments() const;

    // An option that is not set leaves *out alone. A set one goes into *out if its
    // value is a whole number from min to max; false if it is not.
    template <typename Integer>
    bool readInteger(const QCommandLineOption &option, qint64 min, qint64 max, Integer *out) const {
        if (!isSet(option))
            return true;
        const std::optional<qint64> parsed = integerValue(option, min, max);
        if (!parsed)
            return false;
        *out = Integer(*parsed);
        return true;
    }

    // wss trust: --ca FILE (PEM certificate authorities) into *caFile and
    // --accept-fingerprint SHA256 into *fingerprint (32 bytes), each only when given.
    // An error for a usage error: an unreadable CA file or a malformed fingerprint,
    // found before connecting.
    std::optional<QString> readTrust(const QCommandLineOption &ca,
                                     const QCommandLineOption &acceptFingerprint, QString *caFile,
                                     QByteArray *fingerprint) const;

private:
    std::optional<qint64> integerValue(const QCommandLineOption &option, qint64 min,
                                       qint64 max) const;

    QCommandLineParser m_parser;
    QByteArray m_command;
    int m_usageErrorStatus = 1;
};

} // namespace ws
