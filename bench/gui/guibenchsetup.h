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

// Settings of `applicationName` in a folder that lives as long as this; stdout
// line-buffered, so that each figure shows as soon as it is printed.
class OwnSettings {
public:
    explicit OwnSettings(const QString &applicationName) {
        QSettings::setDefaultFormat(QSettings::IniFormat);
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_dir.path());
        QCoreApplication::setOrganizationName(QStringLiteral("wsw-bench"));
        QCoreApplication::setApplicationName(applicationName);
        std::setvbuf(stdout, nullptr, _IOLBF, 0);
    }

private:
    QTemporaryDir m_dir;
};

} // namespace wsbench
