#pragma once

#include <QSize>
#include <QString>
#include <QStringList>

class QWidget;

namespace ws {

class MainWindow;

// The window with traffic to look at, for the README's picture
// (scripts/screenshot.sh): `--demo` hosts an echo server, connects to it, sends
// text, JSON, binary, a fragmented message and pings through the send box and
// selects a masked frame in the inspector; `--screenshot FILE` then saves the window
// as a PNG and quits; `--size 1024x700` sizes the window first.
struct DemoOptions {
    bool demo = false;
    // --relay: the demo's client talks to the echo server through the Relay panel's
    // relay, and the window shows the relayed pair.
    bool relay = false;
    // --intercept (with --relay): a message is held in the Relay panel's intercept
    // list, and its Intercept tab is shown.
    bool intercept = false;
    // --proxy (with --relay): the Relay panel runs in proxy mode and the demo's client
    // reaches the echo server through it (a CONNECT tunnel).
    bool proxy = false;
    QString screenshotPath; // empty: no screenshot
    QSize size;             // --size WIDTHxHEIGHT: the window's size; invalid: as saved
    // --probe: after the demo, the Probe panel runs cases 1 to 7 and 10 against the
    // window's echo server and a case's frames are shown in the log and the inspector.
    bool probe = false;
    // --start-relay [ADDR:]PORT=URL: the Relay panel relays ADDR:PORT (127.0.0.1
    // unless given; port 0 picks a free one) to URL as soon as the window is up, and
    // "listening on ws://ADDR:PORT/ -> URL" goes to stdout once it listens (scripts
    // wait for that line). Empty target: not asked for.
    QString relayAddress;
    quint16 relayPort = 0;
    QString relayTarget;
};

// Reads the options above from the command line; false with the reason in `error`
// for anything else.
bool parseDemoOptions(const QStringList &arguments, DemoOptions *options, QString *error = nullptr);
// Starts what `options` asks for once the event loop runs. A relay that cannot start
// ends the event loop with exit code 1, its reason on stderr.
void startDemo(MainWindow &window, const DemoOptions &options);
// The window as a PNG.
bool saveScreenshot(QWidget &window, const QString &path, QString *error = nullptr);

} // namespace ws
