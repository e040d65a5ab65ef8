#include "replay/placeholders.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QUuid>

#include <cmath>

namespace ws::replay {

namespace {

void setError(QString *error, const QString &text) {
    if (error)
        *error = text;
}

// {{ name }} or {{name:format}}: group 1 the name, group 2 the format.
const QRegularExpression &placeholderPattern() {
    static const QRegularExpression pattern(
        QStringLiteral(R"(\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)(?::([A-Za-z0-9_-]+))?\s*\}\})"));
    return pattern;
}

bool isName(const QString &name) {
    static const QRegularExpression pattern(QStringLiteral(R"(^[A-Za-z_][A-Za-z0-9_.-]*$)"));
    return pattern.match(name).hasMatch();
}

bool isBuiltIn(const QString &name) {
    return name == QLatin1String("uuid") || name == QLatin1String("now") ||
           name == QLatin1String("counter");
}

} // namespace

std::optional<JsonPath> JsonPath::parse(const QString &text, QString *error) {
    JsonPath path;
    path.m_text = text;
    const auto fail = [&](const QString &why) -> std::optional<JsonPath> {
        setError(error, QStringLiteral("bad JSON path \"%1\": %2").arg(text, why));
        return std::nullopt;
    };
    if (!text.startsWith(QLatin1Char('$')))
        return fail(QStringLiteral("it must start with $"));
    qsizetype i = 1;
    while (i < text.size()) {
        const QChar c = text.at(i);
        if (c == QLatin1Char('.')) {
            qsizetype end = i + 1;
            while (end < text.size() && text.at(end) != QLatin1Char('.') &&
                   text.at(end) != QLatin1Char('['))
                ++end;
            const QString name = text.mid(i + 1, end - i - 1);
            if (name.isEmpty())
                return fail(QStringLiteral("a member name is missing after a dot"));
            path.m_steps.append(name);
            i = end;
        } else if (c == QLatin1Char('[')) {
            const qsizetype close = text.indexOf(QLatin1Char(']'), i);
            if (close < 0)
                return fail(QStringLiteral("a [ is not closed"));
            const QString inside = text.mid(i + 1, close - i - 1);
            if (inside.size() >= 2 &&
                (inside.startsWith(QLatin1Char('\'')) || inside.startsWith(QLatin1Char('"'))) &&
                inside.endsWith(inside.at(0))) {
                path.m_steps.append(inside.mid(1, inside.size() - 2));
            } else {
                bool ok = false;
                const qsizetype index = inside.toLongLong(&ok);
                if (!ok || index < 0)
                    return fail(
                        QStringLiteral("[%1] is neither an index nor a quoted name").arg(inside));
                path.m_steps.append(index);
            }
            i = close + 1;
        } else {
            return fail(QStringLiteral("unexpected \"%1\" at %2").arg(c).arg(i));
        }
    }
    return path;
}

std::optional<QJsonValue> JsonPath::find(const QByteArray &json) const {
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return std::nullopt;
    QJsonValue value =
        document.isArray() ? QJsonValue(document.array()) : QJsonValue(document.object());
    for (const Step &step : m_steps) {
        if (const QString *name = std::get_if<QString>(&step)) {
            if (!value.isObject() || !value.toObject().contains(*name))
                return std::nullopt;
            value = value.toObject().value(*name);
        } else {
            const qsizetype index = std::get<qsizetype>(step);
            if (!value.isArray() || index >= value.toArray().size())
                return std::nullopt;
            value = value.toArray().at(index);
        }
    }
    return value;
}

QByteArray placeholderText(const QJsonValue &value) {
    switch (value.type()) {
    case QJsonValue::String:
        return value.toString().toUtf8();
    case QJsonValue::Bool:
        return value.toBool() ? "true" : "false";
    case QJsonValue::Double: {
        const double d = value.toDouble();
        if (std::floor(d) == d && std::fabs(d) < 9007199254740992.0)
            return QByteArray::number(qint64(d));
        return QByteArray::number(d, 'g', 17);
    }
    case QJsonValue::Array:
        return QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact);
    case QJsonValue::Object:
        return QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact);
    case QJsonValue::Null:
    case QJsonValue::Undefined:
        break;
    }
    return "null";
}

bool Placeholders::addCapture(const QString &name, const JsonPath &path, QString *error) {
    if (!isName(name)) {
        setError(error, QStringLiteral("\"%1\" is not a capture name (letters, digits, _ . -; "
                                       "not starting with a digit)")
                            .arg(name));
        return false;
    }
    if (isBuiltIn(name)) {
        setError(error, QStringLiteral("{{%1}} is a built-in placeholder: pick another capture "
                                       "name")
                            .arg(name));
        return false;
    }
    for (const Capture &capture : std::as_const(m_captures)) {
        if (capture.name == name) {
            setError(error, QStringLiteral("the capture %1 is defined twice").arg(name));
            return false;
        }
    }
    m_captures.append({name, path, std::nullopt});
    return true;
}

bool Placeholders::addSubstitution(const JsonPath &path, const QByteArray &recordedValue,
                                   QString *error) {
    if (recordedValue.isEmpty()) {
        setError(error, QStringLiteral("the recorded value at %1 is empty: there is nothing to "
                                       "replace")
                            .arg(path.text()));
        return false;
    }
    m_substitutions.append({path, recordedValue, std::nullopt});
    return true;
}

std::optional<QString> Placeholders::check(const QByteArray &text) const {
    const QString string = QString::fromUtf8(text);
    QRegularExpressionMatchIterator it = placeholderPattern().globalMatch(string);
    while (it.hasNext()) {
        const QRegularExpressionMatch match = it.next();
        const QString name = match.captured(1);
        const QString format = match.captured(2);
        if (name == QLatin1String("now")) {
            if (format.isEmpty() || format == QLatin1String("iso"))
                continue;
            return QStringLiteral("%1: unknown format \"%2\" ({{now}} or {{now:iso}})")
                .arg(match.captured(0), format);
        }
        if (!format.isEmpty())
            return QStringLiteral("%1: only {{now}} takes a format").arg(match.captured(0));
        if (isBuiltIn(name))
            continue;
        bool known = false;
        for (const Capture &capture : m_captures)
            known = known || capture.name == name;
        if (!known)
            return QStringLiteral("unknown placeholder %1 (built in: {{uuid}}, {{now}}, "
                                  "{{now:iso}}, {{counter}}; captures come from --capture)")
                .arg(match.captured(0));
    }
    return std::nullopt;
}

bool Placeholders::hasPlaceholders(const QByteArray &text) {
    return text.contains("{{") && placeholderPattern().match(QString::fromUtf8(text)).hasMatch();
}

QStringList Placeholders::observePeerMessage(const QByteArray &text) {
    QStringList lines;
    for (Capture &capture : m_captures) {
        if (capture.value)
            continue;
        if (const auto value = capture.path.find(text)) {
            capture.value = placeholderText(*value);
            lines.append(QStringLiteral("captured %1 = %2")
                             .arg(capture.name, QString::fromUtf8(*capture.value)));
        }
    }
    for (Substitution &substitution : m_substitutions) {
        if (substitution.value)
            continue;
        if (const auto value = substitution.path.find(text)) {
            substitution.value = placeholderText(*value);
            lines.append(QStringLiteral("substituting %1: %2 -> %3")
                             .arg(substitution.path.text(),
                                  QString::fromUtf8(substitution.recordedValue),
                                  QString::fromUtf8(*substitution.value)));
        }
    }
    return lines;
}

std::optional<QByteArray> Placeholders::expand(const QByteArray &text, QString *error) {
    QByteArray substituted = text;
    for (const Substitution &substitution : std::as_const(m_substitutions)) {
        if (substitution.value)
            substituted.replace(substitution.recordedValue, *substitution.value);
    }
    if (!substituted.contains("{{"))
        return substituted;
    if (const std::optional<QString> unknown = check(substituted)) {
        setError(error, *unknown);
        return std::nullopt;
    }
    const QString string = QString::fromUtf8(substituted);
    QString out;
    qsizetype last = 0;
    bool counterTaken = false;
    qint64 counter = m_counter;
    // One time for every {{now}} of a message.
    const QDateTime now = QDateTime::currentDateTimeUtc();
    QRegularExpressionMatchIterator it = placeholderPattern().globalMatch(string);
    while (it.hasNext()) {
        const QRegularExpressionMatch match = it.next();
        out += QStringView(string).mid(last, match.capturedStart(0) - last);
        last = match.capturedEnd(0);
        const QString name = match.captured(1);
        if (name == QLatin1String("uuid")) {
            out += QUuid::createUuid().toString(QUuid::WithoutBraces);
        } else if (name == QLatin1String("now")) {
            out += match.captured(2) == QLatin1String("iso")
                       ? now.toString(Qt::ISODateWithMs)
                       : QString::number(now.toMSecsSinceEpoch());
        } else if (name == QLatin1String("counter")) {
            if (!counterTaken) {
                counterTaken = true;
                ++counter;
            }
            out += QString::number(counter);
        } else {
            const Capture *found = nullptr;
            for (const Capture &capture : std::as_const(m_captures)) {
                if (capture.name == name)
                    found = &capture;
            }
            if (!found) {
                setError(error, QStringLiteral("unknown placeholder %1").arg(match.captured(0)));
                return std::nullopt;
            }
            if (!found->value) {
                setError(error, QStringLiteral("{{%1}} has no value yet: no message of the peer "
                                               "so far had %2")
                                    .arg(name, found->path.text()));
                return std::nullopt;
            }
            out += QString::fromUtf8(*found->value);
        }
    }
    out += QStringView(string).mid(last);
    m_counter = counter;
    return out.toUtf8();
}

} // namespace ws::replay
