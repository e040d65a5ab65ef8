#pragma once

#include <QByteArray>
#include <QJsonValue>
#include <QList>
#include <QString>

#include <optional>
#include <variant>

namespace ws::replay {

// A JSON path as replays use it: `$`, then `.name`, `['name']` or `["name"]` for an
// object's member and `[N]` for an array's element, e.g. `$.auth.token`,
// `$.items[0]['session id']`.
class JsonPath {
public:
    using Step = std::variant<QString, qsizetype>;

    // nullopt with *error set when `text` is not such a path.
    static std::optional<JsonPath> parse(const QString &text, QString *error = nullptr);

    // The value at the path in `json` (a whole document's text), or nullopt when it is
    // not JSON or has nothing there.
    std::optional<QJsonValue> find(const QByteArray &json) const;
    const QString &text() const { return m_text; }

private:
    QString m_text;
    QList<Step> m_steps;
};

// A JSON value as a placeholder puts it into a message: a string's characters
// (unquoted), a number as JSON writes it, true/false/null, an object or an array
// as compact JSON.
QByteArray placeholderText(const QJsonValue &value);

// The placeholders of a replay's messages:
//   {{uuid}}      a fresh random UUID (version 4) per occurrence
//   {{now}}       milliseconds since the Unix epoch, when the message is sent
//   {{now:iso}}   the same time as ISO 8601 in UTC, with milliseconds
//   {{counter}}   1 in the first message sent that uses it, 2 in the next, and so on;
//                 every {{counter}} of one message has the same value
//   {{NAME}}      the value of the capture NAME (addCapture)
// Spaces around the name are allowed ({{ uuid }}). Braces around anything that is not
// a name ({{"a": 1}}, {{}}) are text. Substitutions (addSubstitution) replace a value
// the recording's peer sent by the one the replay's peer sends.
class Placeholders {
public:
    struct Capture {
        QString name;
        JsonPath path;
        std::optional<QByteArray> value; // once a peer's message had the path
    };
    struct Substitution {
        JsonPath path;
        QByteArray recordedValue;
        std::optional<QByteArray> value;
    };

    // nullopt with *error set when `name` is not a name or is taken.
    bool addCapture(const QString &name, const JsonPath &path, QString *error = nullptr);
    // `recordedValue` (as placeholderText() made it from the recording) is replaced
    // in every message sent once the replay's peer sent a message with the path.
    bool addSubstitution(const JsonPath &path, const QByteArray &recordedValue,
                         QString *error = nullptr);

    // Every placeholder in `text` is known; the first unknown one as an error.
    std::optional<QString> check(const QByteArray &text) const;
    // Whether `text` has any placeholder (known or not).
    static bool hasPlaceholders(const QByteArray &text);

    // A message of the peer: captures and substitutions whose path it has take their
    // value (the first message that has the path gives it). The lines worth telling
    // the user ("captured token = abc").
    QStringList observePeerMessage(const QByteArray &text);

    // `text` with the substitutions that have a value applied, then every placeholder
    // replaced. nullopt with *error set when a capture it uses has no value yet.
    std::optional<QByteArray> expand(const QByteArray &text, QString *error = nullptr);

    const QList<Capture> &captures() const { return m_captures; }
    const QList<Substitution> &substitutions() const { return m_substitutions; }
    qint64 counter() const { return m_counter; }

private:
    QList<Capture> m_captures;
    QList<Substitution> m_substitutions;
    qint64 m_counter = 0;
};

} // namespace ws::replay
