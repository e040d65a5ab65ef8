#pragma once

#include <QByteArray>
#include <QJsonObject>

#include <cstdio>

class QCommandLineParser;

namespace ws {

// Writes one line and flushes, so that a pipe reader sees each event at once.
void writeLine(std::FILE *stream, const QByteArray &line);
// One JSON object on one line.
void writeJson(std::FILE *stream, const QJsonObject &object);
// The parser's help, its usage line naming the subcommand ("wsw connect").
QByteArray commandHelp(const QCommandLineParser &parser, const char *command);

} // namespace ws
