#pragma once

// What the window benchmarks do first: the offscreen platform unless another is
// chosen, and settings of their own (the window remembers its layout and the panels
// their forms: the user's settings stay out of a run, and a run out of them).

#include <QCoreApplication>
#include <QSettings>
#include <QString>
#include <QTemporaryDir>

#include <cstdio>

namespace wsbench {

// Before the QApplication is made.
inline void useOffscreenUnlessChosen() {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
}

// Settings in `settingsDir` for `applicationName`; stdout line-buffered, so that each
// figure shows as soon as it is printed.
inline void useOwnSettings(const QTemporaryDir &settingsDir, const QString &applicationName) {
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settingsDir.path());
    QCoreApplication::setOrganizationName(QStringLiteral("wsw-bench"));
    QCoreApplication::setApplicationName(applicationName);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
}

} // namespace wsbench
