#pragma once

// A Qt Test main() that runs the test class on EpollEventDispatcher, the command-line
// tool's dispatcher, where connections read plain TCP sockets from the dispatcher's
// readiness, past QTcpSocket (EpollEventDispatcher::shortcutReads()). A test source
// built twice (tests/CMakeLists.txt, wsw_add_epoll_test()) ends with
//     WSW_TEST_MAIN(TestClass, QTEST_GUILESS_MAIN)
// to be run on Qt's own dispatcher once and on this one once.

#include "net/epolleventdispatcher.h"

#include <QCoreApplication>
#include <QTest>

#ifdef WSW_TEST_ON_EPOLL
#define WSW_TEST_MAIN(TestObject, QtMain)                                                          \
    int main(int argc, char *argv[]) {                                                             \
        QCoreApplication::setEventDispatcher(new ws::EpollEventDispatcher);                        \
        QCoreApplication app(argc, argv);                                                          \
        if (!ws::EpollEventDispatcher::ofThisThread())                                             \
            qFatal("the epoll dispatcher is not the main thread's");                               \
        TestObject test;                                                                           \
        QTEST_SET_MAIN_SOURCE_PATH                                                                 \
        return QTest::qExec(&test, argc, argv);                                                    \
    }
#else
#define WSW_TEST_MAIN(TestObject, QtMain) QtMain(TestObject)
#endif
