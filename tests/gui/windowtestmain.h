#pragma once

// A Qt Test main() for widget tests that runs the test class in the window's own
// application (createWindowApplication(): the main thread on EpollEventDispatcher,
// the platform's events handed over when it is woken up). A test source built twice
// (tests/gui/CMakeLists.txt, wsw_add_epoll_test()) ends with
//     WSW_WINDOW_TEST_MAIN(TestClass)
// to be run on Qt's own dispatcher once and on the window's once.

#include "windows/windowapplication.h"

#include <QApplication>
#include <QTest>

#ifdef WSW_TEST_ON_EPOLL
#define WSW_WINDOW_TEST_MAIN(TestObject)                                                           \
    int main(int argc, char *argv[]) {                                                             \
        const auto app = ws::createWindowApplication(argc, argv);                                  \
        if (!ws::windowWaitsOnEpoll())                                                             \
            qFatal("the window's epoll dispatcher is not the main thread's");                      \
        app->setAttribute(Qt::AA_Use96Dpi, true);                                                  \
        TestObject test;                                                                           \
        QTEST_SET_MAIN_SOURCE_PATH                                                                 \
        return QTest::qExec(&test, argc, argv);                                                    \
    }
#else
#define WSW_WINDOW_TEST_MAIN(TestObject) QTEST_MAIN(TestObject)
#endif
