// The socket helpers under the connections (net/socketio.h): the read buffer's
// borrowers are told before the buffer is read into again, and bytes that are a
// caller's (Session::sendDataPieceInPlace()) are copied wherever QTcpSocket would keep
// them, so that reusing them cannot change what goes out.

#include "net/socketio.h"
#include "net/tcpserver.h"
#include "protocol/session.h"

#include <QTcpSocket>
#include <QTest>

#include <memory>

#include <sys/socket.h>

using namespace ws;

namespace {

// A plain connection: `writer`, ours, and `reader`, unbuffered as a server's socket is.
struct Pair {
    UnbufferedTcpServer listener;
    QTcpSocket writer;
    std::unique_ptr<QTcpSocket> reader;

    bool open() {
        if (!listener.listen(QHostAddress::LocalHost))
            return false;
        writer.connectToHost(QHostAddress::LocalHost, listener.serverPort());
        if (!writer.waitForConnected(5000) || !listener.waitForNewConnection(5000))
            return false;
        reader.reset(listener.nextPendingConnection());
        return reader && isUnbuffered(reader.get());
    }
    // Writes `bytes` and waits until the reader's descriptor has them all (a read
    // past QTcpSocket, readFromDescriptor(), leaves readyRead() unannounced).
    bool send(const QByteArray &bytes) {
        writer.write(bytes);
        if (!writer.flush())
            return false;
        char peeked[64];
        for (int waited = 0; waited < 5000; ++waited) {
            const ssize_t n = ::recv(int(reader->socketDescriptor()), peeked, sizeof peeked,
                                     MSG_PEEK | MSG_DONTWAIT);
            if (n >= bytes.size())
                return true;
            QTest::qWait(1);
        }
        return false;
    }
};

// Keeps a copy of the bytes it borrowed once it is told to let go of them.
struct Borrower final : ReadBufferBorrower {
    virtual ~Borrower() = default;
    QByteArrayView borrowed;
    QByteArray kept;
    int told = 0;
    void returnReadBuffer() override {
        ++told;
        kept = borrowed.toByteArray();
    }
};

QByteArray pattern(qsizetype size) {
    QByteArray bytes(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        bytes[i] = char((i * 131 + i / 4099) & 0xFF);
    return bytes;
}

} // namespace

class TestSocketIo : public QObject {
    Q_OBJECT

private slots:
    void borrowersAreToldBeforeTheNextRead();
    void callerBytesAreCopiedWhereTheyWouldBeKept();
};

void TestSocketIo::borrowersAreToldBeforeTheNextRead() {
    Pair pair;
    QVERIFY(pair.open());
    QVERIFY(pair.send("first"));
    const SocketRead first = readFromSocket(pair.reader.get());
    QCOMPARE(first.data, QByteArrayView("first"));
    QVERIFY(first.inReadBuffer);

    Borrower borrower;
    borrower.borrowed = first.data;
    borrowReadBuffer(&borrower);
    borrowReadBuffer(&borrower); // once is enough
    QVERIFY(pair.send("second"));
    // Told once, before the read: it kept the first read's bytes, not the second's.
    const SocketRead second = readFromDescriptor(pair.reader.get());
    QCOMPARE(second.data, QByteArrayView("second"));
    QVERIFY(second.inReadBuffer);
    QCOMPARE(borrower.told, 1);
    QCOMPARE(borrower.kept, QByteArray("first"));

    // Told, then forgotten: the next read does not tell it again.
    QVERIFY(pair.send("third"));
    QCOMPARE(readFromSocket(pair.reader.get()).data, QByteArrayView("third"));
    QCOMPARE(borrower.told, 1);

    // One that goes away first is not told.
    Borrower gone;
    borrowReadBuffer(&gone);
    forgetReadBufferBorrower(&gone);
    QVERIFY(pair.send("fourth"));
    QCOMPARE(readFromSocket(pair.reader.get()).data, QByteArrayView("fourth"));
    QCOMPARE(gone.told, 0);
}

void TestSocketIo::callerBytesAreCopiedWhereTheyWouldBeKept() {
    Pair pair;
    QVERIFY(pair.open());
    // Small kernel buffers on both sides, so that most of a large write waits in
    // QTcpSocket.
    pair.writer.setSocketOption(QAbstractSocket::SendBufferSizeSocketOption, 32 * 1024);
    pair.reader->setSocketOption(QAbstractSocket::ReceiveBufferSizeSocketOption, 32 * 1024);

    const QByteArray expected = pattern(4 << 20) + pattern(10'000);
    QByteArray large = expected.first(4 << 20);
    QByteArray small = expected.sliced(4 << 20);
    // Large, then small while the large one's rest waits: neither may be kept by
    // reference.
    writeToSocket(&pair.writer, QByteArray::fromRawData(large.constData(), large.size()));
    QVERIFY(pair.writer.bytesToWrite() > 0);
    writeToSocket(&pair.writer, QByteArray::fromRawData(small.constData(), small.size()));
    QVERIFY(pair.writer.bytesToWrite() > small.size());
    large.fill('\xee');
    small.fill('\xee');

    QByteArray received;
    while (received.size() < expected.size()) {
        const SocketRead read = readFromSocket(pair.reader.get());
        QVERIFY(!read.ended);
        received += read.data;
        if (read.data.isEmpty())
            QTest::qWait(1);
    }
    QCOMPARE(received.size(), expected.size());
    QVERIFY(received == expected);
}

QTEST_GUILESS_MAIN(TestSocketIo)
#include "tst_socketio.moc"
