#include "protocol/masking.h"
#include "protocoltestsupport.h"

#include <QByteArray>
#include <QRandomGenerator>
#include <QTest>

#include <algorithm>
#include <cstring>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

using namespace ws;
using namespace ws::test;

namespace {

QByteArray randomBytes(QRandomGenerator &random, qsizetype size) {
    std::vector<quint32> words(std::size_t(size + 3) / 4);
    random.fillRange(words.data(), qsizetype(words.size()));
    QByteArray bytes(size, Qt::Uninitialized);
    if (size > 0)
        std::memcpy(bytes.data(), words.data(), std::size_t(size));
    return bytes;
}

// Sizes that reach every path: the byte tail, 8-byte words, 16-byte and 64-byte
// blocks, and combinations of them.
QList<qsizetype> interestingSizes() {
    QList<qsizetype> sizes;
    for (qsizetype size = 0; size <= 80; ++size)
        sizes.append(size);
    sizes << 95 << 96 << 97 << 127 << 128 << 129 << 191 << 255 << 256 << 1000 << 4099 << 65536 + 5;
    return sizes;
}

} // namespace

class TestMasking : public QObject {
    Q_OBJECT

private slots:
    void knownBytes_data();
    void knownBytes();
    void rfcMaskedHelloFrame();
    void matchesReference();
    void largePhaseCountsModuloFour();
    void copyWithMaskEqualsCopyThenMask();
    void piecesGiveTheSameResultAsOneCall();
    void maskingTwiceRestoresTheData();
    void zeroKeyLeavesDataUnchanged();
    void nonPositiveSizeTouchesNothing();
    void fixedSource();
    void functionSource();
    void systemRandomSource();
    void systemRandomAcrossRefills();
    void systemRandomAfterFork();
};

void TestMasking::knownBytes_data() {
    QTest::addColumn<quint32>("key");
    QTest::addColumn<quint64>("phase");
    QTest::addColumn<QByteArray>("plain");
    QTest::addColumn<QByteArray>("masked");

    // RFC 6455 §5.7: "A single-frame masked text message" carrying "Hello".
    QTest::newRow("rfc6455 5.7 Hello") << quint32(0x37fa213d) << quint64(0) << QByteArray("Hello")
                                       << QByteArray::fromHex("7f9f4d5158");
    // The same payload continued after one byte: starts with the key's second octet.
    QTest::newRow("Hello, phase 1") << quint32(0x37fa213d) << quint64(1) << QByteArray("ello")
                                    << QByteArray::fromHex("9f4d5158");
    QTest::newRow("phase 2") << quint32(0x01020304) << quint64(2)
                             << QByteArray::fromHex("000000000000")
                             << QByteArray::fromHex("030401020304");
    QTest::newRow("phase 3") << quint32(0x01020304) << quint64(3)
                             << QByteArray::fromHex("00000000000000")
                             << QByteArray::fromHex("04010203040102");
    QTest::newRow("all ones key") << quint32(0xffffffff) << quint64(0)
                                  << QByteArray::fromHex("00ff0f") << QByteArray::fromHex("ff00f0");
    QTest::newRow("empty") << quint32(0x12345678) << quint64(0) << QByteArray() << QByteArray();
}

void TestMasking::knownBytes() {
    QFETCH(quint32, key);
    QFETCH(quint64, phase);
    QFETCH(QByteArray, plain);
    QFETCH(QByteArray, masked);

    QByteArray data = plain;
    applyMask(data.data(), data.size(), key, phase);
    QCOMPARE(data.toHex(), masked.toHex());

    applyMask(data.data(), data.size(), key, phase);
    QCOMPARE(data, plain);

    QByteArray copied(plain.size(), '\0');
    copyWithMask(copied.data(), masked.constData(), masked.size(), key, phase);
    QCOMPARE(copied, plain);
}

void TestMasking::rfcMaskedHelloFrame() {
    // RFC 6455 §5.7: 0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58.
    const QByteArray frame = QByteArray::fromHex("818537fa213d7f9f4d5158");
    const auto *bytes = reinterpret_cast<const uchar *>(frame.constData());
    // The key is the four bytes after the header, first one in the top bits.
    const quint32 key = quint32(bytes[2]) << 24 | quint32(bytes[3]) << 16 | quint32(bytes[4]) << 8 |
                        quint32(bytes[5]);
    QCOMPARE(key, quint32(0x37fa213d));

    QByteArray payload = frame.mid(6);
    applyMask(payload.data(), payload.size(), key);
    QCOMPARE(payload, QByteArray("Hello"));

    QByteArray rebuilt = frame.left(6);
    rebuilt.resize(11);
    copyWithMask(rebuilt.data() + 6, "Hello", 5, key);
    QCOMPARE(rebuilt.toHex(), frame.toHex());
}

void TestMasking::matchesReference() {
    QRandomGenerator random(6455);
    const quint32 keys[] = {0x37fa213d, 0x80000001, 0xdeadbeef, 0x00ff00ff};
    constexpr qsizetype guard = 16;
    for (const qsizetype size : interestingSizes()) {
        for (quint64 phase = 0; phase < 4; ++phase) {
            // Every start address modulo 32, whatever the alignment of the allocation.
            for (qsizetype misalignment = 0; misalignment < 40; ++misalignment) {
                const quint32 key = keys[(size + misalignment) % 4];
                const QByteArray original = randomBytes(random, size);
                // Guard bytes on both sides catch writes outside [data, data + size).
                QByteArray buffer = randomBytes(random, misalignment + size + guard);
                buffer.replace(misalignment, size, original);
                const QByteArray before = buffer;

                applyMask(buffer.data() + misalignment, size, key, phase);

                const QByteArray expected = referenceMask(original, key, phase);
                if (buffer.mid(misalignment, size) != expected) {
                    QFAIL(qPrintable(QStringLiteral("size %1 phase %2 misalignment %3")
                                         .arg(size)
                                         .arg(phase)
                                         .arg(misalignment)));
                }
                QCOMPARE(buffer.left(misalignment), before.left(misalignment));
                QCOMPARE(buffer.mid(misalignment + size), before.mid(misalignment + size));
            }
        }
    }
}

void TestMasking::largePhaseCountsModuloFour() {
    // The phase may be the whole count of payload bytes already seen.
    QRandomGenerator random(17);
    const QByteArray original = randomBytes(random, 77);
    const quint32 key = 0xa1b2c3d4;
    for (const quint64 phase : {quint64(4), quint64(5), quint64(126), quint64(65539),
                                (quint64(1) << 40) + 3, ~quint64(0)}) {
        QByteArray data = original;
        applyMask(data.data(), data.size(), key, phase);
        QCOMPARE(data, referenceMask(original, key, phase % 4));
    }
}

void TestMasking::copyWithMaskEqualsCopyThenMask() {
    QRandomGenerator random(1234);
    constexpr qsizetype guard = 16;
    for (const qsizetype size : interestingSizes()) {
        for (quint64 phase = 0; phase < 4; ++phase) {
            for (const qsizetype srcOffset : {0, 1, 7, 16}) {
                for (qsizetype dstOffset = 0; dstOffset < 40; ++dstOffset) {
                    const quint32 key = random.generate();
                    const QByteArray source = randomBytes(random, srcOffset + size + guard);
                    const QByteArray sourceBefore = source;
                    QByteArray destination = randomBytes(random, dstOffset + size + guard);
                    const QByteArray destinationBefore = destination;

                    copyWithMask(destination.data() + dstOffset, source.constData() + srcOffset,
                                 size, key, phase);

                    QByteArray expected = source.mid(srcOffset, size);
                    applyMask(expected.data(), expected.size(), key, phase);
                    if (destination.mid(dstOffset, size) != expected) {
                        QFAIL(qPrintable(QStringLiteral("size %1 phase %2 src+%3 dst+%4")
                                             .arg(size)
                                             .arg(phase)
                                             .arg(srcOffset)
                                             .arg(dstOffset)));
                    }
                    QCOMPARE(destination.left(dstOffset), destinationBefore.left(dstOffset));
                    QCOMPARE(destination.mid(dstOffset + size),
                             destinationBefore.mid(dstOffset + size));
                    QCOMPARE(source, sourceBefore);
                }
            }
        }
    }
}

void TestMasking::piecesGiveTheSameResultAsOneCall() {
    for (const quint32 seed : {1u, 2u, 3u, 42u, 6455u, 99999u}) {
        QRandomGenerator random(seed);
        const qsizetype size = 3000 + random.bounded(3000);
        const quint32 key = random.generate();
        const QByteArray original = randomBytes(random, size);

        QByteArray whole = original;
        applyMask(whole.data(), whole.size(), key);
        QCOMPARE(whole, referenceMask(original, key, 0));

        // In place, piece by piece, as a decoder unmasks a payload while it arrives.
        QByteArray inPieces = original;
        // Into a separate buffer, as a decoder copies out of the socket buffer.
        QByteArray copied(size, '\0');
        qsizetype done = 0;
        while (done < size) {
            // Mostly short pieces, sometimes long ones, and some empty ones.
            const qsizetype wanted =
                random.bounded(4) == 0 ? random.bounded(400) : random.bounded(13);
            const qsizetype piece = std::min(wanted, size - done);
            applyMask(inPieces.data() + done, piece, key, quint64(done));
            copyWithMask(copied.data() + done, original.constData() + done, piece, key,
                         quint64(done) % 4);
            done += piece;
        }
        QVERIFY2(inPieces == whole, qPrintable(QStringLiteral("seed %1").arg(seed)));
        QVERIFY2(copied == whole, qPrintable(QStringLiteral("seed %1").arg(seed)));
    }
}

void TestMasking::maskingTwiceRestoresTheData() {
    QRandomGenerator random(77);
    for (const qsizetype size : interestingSizes()) {
        const QByteArray original = randomBytes(random, size);
        const quint32 key = random.generate() | 1; // never the all-zero key
        const quint64 phase = random.bounded(4);
        QByteArray data = original;
        applyMask(data.data(), data.size(), key, phase);
        if (size >= 4)
            QVERIFY(data != original);
        applyMask(data.data(), data.size(), key, phase);
        QCOMPARE(data, original);
    }
}

void TestMasking::zeroKeyLeavesDataUnchanged() {
    // An all-zero key is still a key (RFC 6455 §5.3 does not forbid it); it just
    // happens to change nothing.
    QRandomGenerator random(5);
    for (const qsizetype size : interestingSizes()) {
        const QByteArray original = randomBytes(random, size);
        QByteArray data = original;
        applyMask(data.data(), data.size(), 0, quint64(size) % 4);
        QCOMPARE(data, original);
        QByteArray copied(size, 'x');
        copyWithMask(copied.data(), original.constData(), size, 0, 3);
        QCOMPARE(copied, original);
    }
}

void TestMasking::nonPositiveSizeTouchesNothing() {
    QByteArray data("untouched");
    applyMask(data.data(), 0, 0x01020304);
    applyMask(data.data(), -5, 0x01020304);
    copyWithMask(data.data(), "abcdefgh", 0, 0x01020304);
    QCOMPARE(data, QByteArray("untouched"));
}

void TestMasking::fixedSource() {
    const MaskingKeySource source = MaskingKeySource::fixed(0x37fa213d);
    for (int i = 0; i < 5; ++i)
        QCOMPARE(source.next(), quint32(0x37fa213d));

    // A fixed zero key is returned as is, not replaced by a random one.
    QCOMPARE(MaskingKeySource::fixed(0).next(), quint32(0));
}

void TestMasking::functionSource() {
    const std::vector<quint32> keys = {0x11111111, 0x22222222, 0x37fa213d};
    std::size_t index = 0;
    const MaskingKeySource source =
        MaskingKeySource::fromFunction([&keys, &index] { return keys[index++ % keys.size()]; });
    QCOMPARE(source.next(), quint32(0x11111111));
    QCOMPARE(source.next(), quint32(0x22222222));
    QCOMPARE(source.next(), quint32(0x37fa213d));
    QCOMPARE(source.next(), quint32(0x11111111));
    QCOMPARE(index, std::size_t(4));

    // A copy shares nothing it should not: it calls the same generator.
    const MaskingKeySource copy = source;
    QCOMPARE(copy.next(), quint32(0x22222222));
}

void TestMasking::systemRandomSource() {
    // RFC 6455 §5.3: keys must be unpredictable. From a CSPRNG, 64 draws that are
    // all equal, or in which some bit never changes, have a chance of about 2^-58.
    const MaskingKeySource source = MaskingKeySource::systemRandom();
    quint32 anySet = 0;
    quint32 anyClear = 0;
    QList<quint32> seen;
    for (int i = 0; i < 64; ++i) {
        const quint32 key = source.next();
        anySet |= key;
        anyClear |= ~key;
        seen.append(key);
    }
    std::sort(seen.begin(), seen.end());
    QVERIFY(std::unique(seen.begin(), seen.end()) - seen.begin() > 1);
    QCOMPARE(anySet & anyClear, quint32(0xffffffff));
}

void TestMasking::systemRandomAcrossRefills() {
    // Keys come from the system in blocks of 1,024: three blocks' worth must not
    // repeat a block. Among 3,100 random 32-bit keys a repeat has a chance of about
    // 1 in 900, so more than 3 repeats means the blocks are not fresh.
    const MaskingKeySource source = MaskingKeySource::systemRandom();
    std::vector<quint32> keys;
    for (int i = 0; i < 3100; ++i)
        keys.push_back(source.next());
    std::sort(keys.begin(), keys.end());
    const auto distinct = std::unique(keys.begin(), keys.end()) - keys.begin();
    QVERIFY2(distinct >= 3097, qPrintable(QString::number(distinct)));
}

void TestMasking::systemRandomAfterFork() {
    // A child must not mask with the keys its parent already holds: the next keys
    // in parent and child differ.
    const MaskingKeySource source = MaskingKeySource::systemRandom();
    source.next();
    int fds[2];
    QCOMPARE(::pipe(fds), 0);
    const pid_t child = ::fork();
    QVERIFY(child >= 0);
    if (child == 0) {
        quint32 keys[4];
        for (quint32 &key : keys)
            key = source.next();
        const bool written = ::write(fds[1], keys, sizeof keys) == ssize_t(sizeof keys);
        ::_exit(written ? 0 : 1);
    }
    ::close(fds[1]);
    quint32 childKeys[4] = {};
    const ssize_t got = ::read(fds[0], childKeys, sizeof childKeys);
    ::close(fds[0]);
    int status = 0;
    QCOMPARE(::waitpid(child, &status, 0), child);
    QVERIFY(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    QCOMPARE(got, ssize_t(sizeof childKeys));
    quint32 parentKeys[4];
    for (quint32 &key : parentKeys)
        key = source.next();
    QVERIFY(std::memcmp(parentKeys, childKeys, sizeof parentKeys) != 0);
}

QTEST_APPLESS_MAIN(TestMasking)
#include "tst_masking.moc"
