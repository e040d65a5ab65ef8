#include "demo.h"
#include "windows/mainwindow.h"

#include <QApplication>
#include <QTextStream>

int main(int argc, char *argv[]) {
    QApplication app(argc, argv);
    // QSettings keys live under these names.
    QApplication::setOrganizationName(QStringLiteral("WebSocket Workbench"));
    QApplication::setOrganizationDomain(QStringLiteral("wsworkbench.invalid"));
    QApplication::setApplicationName(QStringLiteral("wsworkbench"));
    QApplication::setApplicationDisplayName(QStringLiteral("WebSocket Workbench"));
    QApplication::setApplicationVersion(QStringLiteral(WSW_VERSION));

    ws::DemoOptions demo;
    QString error;
    if (!ws::parseDemoOptions(QApplication::arguments(), &demo, &error)) {
        QTextStream(stderr) << "wsworkbench: " << error << '\n';
        return 2;
    }
    ws::MainWindow window;
    ws::startDemo(window, demo);
    window.show();
    return QApplication::exec();
}
