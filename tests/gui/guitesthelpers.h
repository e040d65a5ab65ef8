#pragma once

// What the GUI tests share: the log tests' event builders and session pair, and
// the steps the window tests share: test settings, the panel's echo server, log
// lookups and closing.

#include "../log/logtesthelpers.h"

#include "log/logstore.h"
#include "models/messagelogmodel.h"
#include "windows/mainwindow.h"
#include "windows/serverpanel.h"

#include <QComboBox>
#include <QCoreApplication>
#include <QGuiApplication>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTest>

#include <functional>

namespace wstest {

// The offscreen platform warns each time a window's size hints change; nothing to
// act on, and it would bury the messages that matter.
inline QtMessageHandler previousMessageHandler = nullptr;

inline void quietMessageHandler(QtMsgType type, const QMessageLogContext &context,
                                const QString &message) {
    if (message == QLatin1String("This plugin does not support propagateSizeHints()"))
        return;
    previousMessageHandler(type, context, message);
}

// Settings and QStandardPaths in test locations, so that a run never reads or
// writes the user's own; windows closed and reopened within a test do not quit
// the application. True when QSettings writes below `directory`.
inline bool setUpWindowTests(const QString &directory, const QString &applicationName) {
    previousMessageHandler = qInstallMessageHandler(quietMessageHandler);
    QStandardPaths::setTestModeEnabled(true);
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, directory);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, directory);
    QCoreApplication::setOrganizationName(QStringLiteral("WebSocket Workbench Tests"));
    QCoreApplication::setApplicationName(applicationName);
    QGuiApplication::setQuitOnLastWindowClosed(false);
    return QSettings().fileName().startsWith(directory);
}

// Starts the server panel's echo server on a port the OS picks; returns the port,
// 0 when it did not start.
inline quint16 startEchoServer(ws::MainWindow &window) {
    ws::ServerPanel *panel = window.serverPanel();
    panel->portSpin()->setValue(0);
    panel->modeCombo()->setCurrentIndex(panel->modeCombo()->findText(QStringLiteral("echo")));
    QTest::mouseClick(panel->startButton(), Qt::LeftButton);
    return panel->boundPort();
}

// Closes the window (close handshakes included) and waits until it is hidden.
inline void closeWindow(ws::MainWindow &window) {
    window.close();
    QTRY_VERIFY_WITH_TIMEOUT(!window.isVisible(), ws::MainWindow::CloseGraceMs + 1000);
}

using RecordMatch = std::function<bool(const ws::log::LogRecord &)>;

// The store index of the last record of `connection` that `match` accepts, or -1.
inline qsizetype findRecord(const ws::MessageLogModel &log, quint32 connection,
                            const RecordMatch &match) {
    const ws::log::LogStore &store = log.store();
    for (qsizetype i = store.size() - 1; i >= 0; --i) {
        const ws::log::LogRecord &record = store.at(i);
        if (record.connection == connection && match(record))
            return i;
    }
    return -1;
}

// findRecord() once such a record has been logged, processing events meanwhile; -1
// when none is within `timeoutMs`.
inline qsizetype waitForRecord(const ws::MessageLogModel &log, quint32 connection,
                               const RecordMatch &match, int timeoutMs) {
    qsizetype index = -1;
    if (!QTest::qWaitFor([&] { return (index = findRecord(log, connection, match)) >= 0; },
                         timeoutMs))
        return -1;
    return index;
}

// Matches for findRecord(): by kind, and by which way the record went.
inline RecordMatch ofKind(ws::log::LogKind kind) {
    return [kind](const ws::log::LogRecord &r) { return r.kind == kind; };
}

inline RecordMatch outgoing(ws::log::LogKind kind) {
    return [kind](const ws::log::LogRecord &r) {
        return r.kind == kind && r.has(ws::log::LogRecord::Outgoing);
    };
}

inline RecordMatch incoming(ws::log::LogKind kind) {
    return [kind](const ws::log::LogRecord &r) {
        return r.kind == kind && !r.has(ws::log::LogRecord::Outgoing);
    };
}

inline RecordMatch incoming(ws::log::LogKind kind, const QByteArray &payload) {
    return [kind, payload](const ws::log::LogRecord &r) {
        return r.kind == kind && !r.has(ws::log::LogRecord::Outgoing) && r.payload == payload;
    };
}

// Any kind of record received with exactly `payload`.
inline RecordMatch incomingPayload(const QByteArray &payload) {
    return [payload](const ws::log::LogRecord &r) {
        return !r.has(ws::log::LogRecord::Outgoing) && r.payload == payload;
    };
}

} // namespace wstest
