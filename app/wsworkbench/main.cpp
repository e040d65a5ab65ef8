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

    ws::MainWindow window;
    QString error;
    if (!window.processArguments(QApplication::arguments(), &error)) {
        QTextStream(stderr) << "wsworkbench: " << error << '\n';
        return 2;
    }
    window.show();
    return QApplication::exec();
}
