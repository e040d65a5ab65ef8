#include "output.h"

#include <QCommandLineParser>
#include <QJsonDocument>

namespace ws {

void writeLine(std::FILE *stream, const QByteArray &line) {
    std::fwrite(line.constData(), 1, size_t(line.size()), stream);
    std::fputc('\n', stream);
    std::fflush(stream);
}

void writeJson(std::FILE *stream, const QJsonObject &object) {
    writeLine(stream, QJsonDocument(object).toJson(QJsonDocument::Compact));
}

QByteArray commandHelp(const QCommandLineParser &parser, const char *command) {
    QByteArray help = parser.helpText().toUtf8();
    // QCommandLineParser names the executable path: "Usage: /path/to/wsw [options] ...".
    const QByteArray usage = "Usage: ";
    if (help.startsWith(usage)) {
        const qsizetype end = help.indexOf(' ', usage.size());
        if (end > 0)
            help.replace(usage.size(), end - usage.size(), QByteArray("wsw ") + command);
    }
    return help.trimmed();
}

} // namespace ws
