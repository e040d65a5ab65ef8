#include "protocol/frameheader.h"
#include "protocoltestsupport.h"

#include <QTest>

using namespace ws;
using namespace ws::test;

Q_DECLARE_METATYPE(ws::FrameHeader)

namespace {

FrameHeader header(quint8 opcode, quint64 length, LengthEncoding encoding,
                   std::optional<quint32> key = std::nullopt, bool fin = true) {
    FrameHeader h;
    h.fin = fin;
    h.opcode = opcode;
    h.payloadLength = length;
    h.lengthEncoding = encoding;
    h.maskingKey = key;
    return h;
}

// "Field@bit+length" for every span, readable when a comparison fails.
QStringList spanText(const QList<FieldSpan> &spans) {
    QStringList text;
    for (const FieldSpan &span : spans) {
        text << QStringLiteral("%1@%2+%3")
                    .arg(QString::fromLatin1(fieldName(span.field)))
                    .arg(span.bitOffset)
                    .arg(span.bitLength);
    }
    return text;
}

} // namespace

class TestFrameHeader : public QObject {
    Q_OBJECT

private slots:
    void serialize_data();
    void serialize();
    void minimalEncoding_data();
    void minimalEncoding();
    void accessors();
    void resetGivesTheDefaultHeader();
    void fieldSpans_data();
    void fieldSpans();
    void spanBytes();
    void hugePayloadSpanSaturates();
    void fieldNames();
    void rawBytesCompareOnlyTheHeader();
    void packByte0_data();
    void packByte0();
    void packByte1_data();
    void packByte1();
    void firstBytesRoundTrip();
    void firstBytesAgreeWithSerializeHeader();
    void lengthField_data();
    void lengthField();
};

// The helpers are compile-time: usable in constants and static checks.
static_assert(packByte0({.fin = true, .rsv = 0, .opcode = 0x1}) == 0x81);
static_assert(unpackByte1(0xfe) == HeaderByte1{.masked = true, .length7 = 126});
static_assert(headerSize(LengthEncoding::Extended64, true) == 14);

void TestFrameHeader::serialize_data() {
    QTest::addColumn<FrameHeader>("header");
    QTest::addColumn<QByteArray>("expected");

    using LE = LengthEncoding;
    QTest::newRow("5.7 unmasked Hello") << header(0x1, 5, LE::Short7) << hex("8105");
    QTest::newRow("5.7 masked Hello")
        << header(0x1, 5, LE::Short7, 0x37fa213d) << hex("818537fa213d");
    QTest::newRow("5.7 first fragment") << header(0x1, 3, LE::Short7, {}, false) << hex("0103");
    QTest::newRow("5.7 256 bytes") << header(0x2, 256, LE::Extended16) << hex("827e0100");
    QTest::newRow("5.7 64 KiB") << header(0x2, 65536, LE::Extended64)
                                << hex("827f0000000000010000");
    QTest::newRow("125") << header(0x2, 125, LE::Short7) << hex("827d");
    QTest::newRow("65535 masked") << header(0x2, 65535, LE::Extended16, 0x01020304)
                                  << hex("82feffff01020304");
    QTest::newRow("64-bit, masked") << header(0x2, 0x0102030405060708ULL, LE::Extended64, 0)
                                    << hex("82ff010203040506070800000000");
    QTest::newRow("non-minimal 16-bit") << header(0x1, 5, LE::Extended16) << hex("817e0005");
    QTest::newRow("non-minimal 64-bit")
        << header(0x9, 0, LE::Extended64) << hex("897f0000000000000000");
    QTest::newRow("7-bit keeps the low bits") << header(0x1, 0x1ff, LE::Short7) << hex("817f");
    QTest::newRow("16-bit keeps the low bits")
        << header(0x1, 0x10005, LE::Extended16) << hex("817e0005");
    QTest::newRow("reserved opcode") << header(0xb, 0, LE::Short7) << hex("8b00");

    FrameHeader rsv = header(0x0, 1, LE::Short7, {}, false);
    rsv.rsv1 = true;
    QTest::newRow("RSV1") << rsv << hex("4001");
    rsv.rsv1 = false;
    rsv.rsv2 = true;
    QTest::newRow("RSV2") << rsv << hex("2001");
    rsv.rsv2 = false;
    rsv.rsv3 = true;
    QTest::newRow("RSV3") << rsv << hex("1001");
}

void TestFrameHeader::serialize() {
    QFETCH(FrameHeader, header);
    QFETCH(QByteArray, expected);

    const RawHeaderBytes raw = serializeHeader(header);
    QCOMPARE(raw.toByteArray().toHex(), expected.toHex());
    QCOMPARE(int(raw.size), header.size());
}

void TestFrameHeader::minimalEncoding_data() {
    QTest::addColumn<quint64>("length");
    QTest::addColumn<int>("bits");
    QTest::addColumn<int>("unmaskedSize");

    QTest::newRow("0") << quint64(0) << 7 << 2;
    QTest::newRow("125") << quint64(125) << 7 << 2;
    QTest::newRow("126") << quint64(126) << 16 << 4;
    QTest::newRow("65535") << quint64(65535) << 16 << 4;
    QTest::newRow("65536") << quint64(65536) << 64 << 10;
    QTest::newRow("2^63-1") << quint64(0x7fffffffffffffffULL) << 64 << 10;
}

void TestFrameHeader::minimalEncoding() {
    QFETCH(quint64, length);
    QFETCH(int, bits);
    QFETCH(int, unmaskedSize);

    const LengthEncoding encoding = ws::minimalEncoding(length);
    QCOMPARE(int(encoding), bits);
    QCOMPARE(headerSize(encoding, false), unmaskedSize);
    QCOMPARE(headerSize(encoding, true), unmaskedSize + 4);
}

void TestFrameHeader::accessors() {
    FrameHeader h = header(0xa, 0, LengthEncoding::Short7, 0u);
    QVERIFY(h.masked()); // an all-zero key is still a key
    QCOMPARE(h.op(), Opcode::Pong);
    QCOMPARE(h.size(), 6);
    QCOMPARE(h.rsvBits(), quint8(0));
    h.rsv1 = h.rsv3 = true;
    QCOMPARE(h.rsvBits(), quint8(Rsv1Bit | Rsv3Bit));
    h.maskingKey.reset();
    QVERIFY(!h.masked());
    QCOMPARE(h.size(), 2);
}

void TestFrameHeader::fieldSpans_data() {
    QTest::addColumn<FrameHeader>("header");
    QTest::addColumn<QStringList>("expected");

    using LE = LengthEncoding;
    // RFC 6455 §5.2: FIN, RSV1-3 and the opcode fill byte 0; MASK and the 7-bit
    // length byte 1; then the extended length, the key and the payload.
    const QStringList fixed = {"FIN@0+1",    "RSV1@1+1", "RSV2@2+1",       "RSV3@3+1",
                               "Opcode@4+4", "Mask@8+1", "Payload len@9+7"};
    QTest::newRow("7-bit unmasked")
        << header(0x1, 5, LE::Short7) << (fixed + QStringList{"Payload Data@16+40"});
    QTest::newRow("7-bit masked") << header(0x1, 5, LE::Short7, 0x37fa213d)
                                  << (fixed +
                                      QStringList{"Masking-key@16+32", "Payload Data@48+40"});
    QTest::newRow("16-bit unmasked")
        << header(0x2, 256, LE::Extended16)
        << (fixed + QStringList{"Extended payload length@16+16", "Payload Data@32+2048"});
    QTest::newRow("16-bit masked")
        << header(0x2, 256, LE::Extended16, 1)
        << (fixed + QStringList{"Extended payload length@16+16", "Masking-key@32+32",
                                "Payload Data@64+2048"});
    QTest::newRow("64-bit unmasked")
        << header(0x2, 65536, LE::Extended64)
        << (fixed + QStringList{"Extended payload length@16+64", "Payload Data@80+524288"});
    QTest::newRow("64-bit masked")
        << header(0x2, 65536, LE::Extended64, 1)
        << (fixed + QStringList{"Extended payload length@16+64", "Masking-key@80+32",
                                "Payload Data@112+524288"});
    QTest::newRow("empty payload")
        << header(0x9, 0, LE::Short7) << (fixed + QStringList{"Payload Data@16+0"});
}

void TestFrameHeader::fieldSpans() {
    QFETCH(FrameHeader, header);
    QFETCH(QStringList, expected);

    const QList<FieldSpan> spans = ws::fieldSpans(header);
    QCOMPARE(spanText(spans), expected);
    // The payload starts where the header ends.
    QCOMPARE(spans.last().field, HeaderField::Payload);
    QCOMPARE(spans.last().firstByte(), quint64(header.size()));
    QCOMPARE(spans.last().byteCount(), header.payloadLength);
}

void TestFrameHeader::spanBytes() {
    // The hex view highlights whole bytes: a bit field covers the byte it sits in.
    const QList<FieldSpan> spans =
        ws::fieldSpans(header(0x2, 300, LengthEncoding::Extended16, 0xa1b2c3d4));
    const auto find = [&](HeaderField field) {
        return *std::find_if(spans.begin(), spans.end(),
                             [field](const FieldSpan &span) { return span.field == field; });
    };
    QCOMPARE(find(HeaderField::Fin).firstByte(), quint64(0));
    QCOMPARE(find(HeaderField::Fin).byteCount(), quint64(1));
    QCOMPARE(find(HeaderField::Opcode).firstByte(), quint64(0));
    QCOMPARE(find(HeaderField::Opcode).byteCount(), quint64(1));
    QCOMPARE(find(HeaderField::PayloadLength7).firstByte(), quint64(1));
    QCOMPARE(find(HeaderField::ExtendedLength).firstByte(), quint64(2));
    QCOMPARE(find(HeaderField::ExtendedLength).byteCount(), quint64(2));
    QCOMPARE(find(HeaderField::MaskingKey).firstByte(), quint64(4));
    QCOMPARE(find(HeaderField::MaskingKey).byteCount(), quint64(4));
    QCOMPARE(find(HeaderField::Payload).firstByte(), quint64(8));
    QCOMPARE(find(HeaderField::Payload).byteCount(), quint64(300));
}

void TestFrameHeader::hugePayloadSpanSaturates() {
    // A declared length (the raw writer can declare anything) whose bit count
    // does not fit 64 bits.
    const QList<FieldSpan> spans =
        ws::fieldSpans(header(0x2, 0xffffffffffffffffULL, LengthEncoding::Extended64));
    QCOMPARE(spans.last().bitOffset, quint64(80));
    QCOMPARE(spans.last().bitLength, ~quint64(0) - 80);
}

void TestFrameHeader::fieldNames() {
    QCOMPARE(fieldName(HeaderField::Fin), "FIN");
    QCOMPARE(fieldName(HeaderField::Rsv1), "RSV1");
    QCOMPARE(fieldName(HeaderField::Rsv2), "RSV2");
    QCOMPARE(fieldName(HeaderField::Rsv3), "RSV3");
    QCOMPARE(fieldName(HeaderField::Opcode), "Opcode");
    QCOMPARE(fieldName(HeaderField::Mask), "Mask");
    QCOMPARE(fieldName(HeaderField::PayloadLength7), "Payload len");
    QCOMPARE(fieldName(HeaderField::ExtendedLength), "Extended payload length");
    QCOMPARE(fieldName(HeaderField::MaskingKey), "Masking-key");
    QCOMPARE(fieldName(HeaderField::Payload), "Payload Data");
}

void TestFrameHeader::rawBytesCompareOnlyTheHeader() {
    RawHeaderBytes a = serializeHeader(header(0x1, 5, LengthEncoding::Short7));
    RawHeaderBytes b = a;
    b.bytes[5] = 0x7f; // past the 2 header bytes
    QVERIFY(a == b);
    b.bytes[1] = 0x06;
    QVERIFY(!(a == b));
    b = a;
    b.size = 3;
    QVERIFY(!(a == b));
}

void TestFrameHeader::packByte0_data() {
    QTest::addColumn<bool>("fin");
    QTest::addColumn<int>("rsv");
    QTest::addColumn<int>("opcode");
    QTest::addColumn<int>("byte");

    QTest::newRow("final text") << true << 0 << 0x1 << 0x81;
    QTest::newRow("first fragment") << false << 0 << 0x1 << 0x01;
    QTest::newRow("continuation") << false << 0 << 0x0 << 0x00;
    QTest::newRow("final binary") << true << 0 << 0x2 << 0x82;
    QTest::newRow("close") << true << 0 << 0x8 << 0x88;
    QTest::newRow("pong") << true << 0 << 0xa << 0x8a;
    QTest::newRow("RSV1 compressed text") << true << int(Rsv1Bit) << 0x1 << 0xc1;
    QTest::newRow("RSV2") << false << int(Rsv2Bit) << 0x2 << 0x22;
    QTest::newRow("RSV3") << false << int(Rsv3Bit) << 0x0 << 0x10;
    QTest::newRow("reserved opcode") << true << 0 << 0xb << 0x8b;
    QTest::newRow("every bit") << true << 7 << 0xf << 0xff;
}

void TestFrameHeader::packByte0() {
    QFETCH(bool, fin);
    QFETCH(int, rsv);
    QFETCH(int, opcode);
    QFETCH(int, byte);

    const HeaderByte0 fields{.fin = fin, .rsv = quint8(rsv), .opcode = quint8(opcode)};
    QCOMPARE(int(ws::packByte0(fields)), byte);
    QCOMPARE(unpackByte0(quint8(byte)), fields);
}

void TestFrameHeader::packByte1_data() {
    QTest::addColumn<bool>("masked");
    QTest::addColumn<int>("length7");
    QTest::addColumn<int>("byte");

    QTest::newRow("5.7 unmasked Hello") << false << 5 << 0x05;
    QTest::newRow("5.7 masked Hello") << true << 5 << 0x85;
    QTest::newRow("empty") << false << 0 << 0x00;
    QTest::newRow("125 masked") << true << 125 << 0xfd;
    QTest::newRow("16-bit follows") << false << 126 << 0x7e;
    QTest::newRow("64-bit follows, masked") << true << 127 << 0xff;
}

void TestFrameHeader::packByte1() {
    QFETCH(bool, masked);
    QFETCH(int, length7);
    QFETCH(int, byte);

    const HeaderByte1 fields{.masked = masked, .length7 = quint8(length7)};
    QCOMPARE(int(ws::packByte1(fields)), byte);
    QCOMPARE(unpackByte1(quint8(byte)), fields);
}

void TestFrameHeader::firstBytesRoundTrip() {
    // Every byte value unpacks into fields that pack back into it ...
    for (int byte = 0; byte < 256; ++byte) {
        QCOMPARE(int(ws::packByte0(unpackByte0(quint8(byte)))), byte);
        QCOMPARE(int(ws::packByte1(unpackByte1(quint8(byte)))), byte);
    }
    // ... and every valid set of fields packs into a byte that unpacks into them.
    for (const bool fin : {false, true}) {
        for (int rsv = 0; rsv < 8; ++rsv) {
            for (int opcode = 0; opcode < 16; ++opcode) {
                const HeaderByte0 fields{fin, quint8(rsv), quint8(opcode)};
                QCOMPARE(unpackByte0(ws::packByte0(fields)), fields);
            }
        }
    }
    for (const bool masked : {false, true}) {
        for (int length7 = 0; length7 < 128; ++length7) {
            const HeaderByte1 fields{masked, quint8(length7)};
            QCOMPARE(unpackByte1(ws::packByte1(fields)), fields);
        }
    }
    // Bits beyond a field's width are dropped, not spilled into the neighbour.
    QCOMPARE(int(ws::packByte0({.fin = false, .rsv = 0xff, .opcode = 0xff})), 0x7f);
    QCOMPARE(int(ws::packByte1({.masked = false, .length7 = 0xff})), 0x7f);
}

void TestFrameHeader::firstBytesAgreeWithSerializeHeader() {
    // All 256 x 256 first two bytes: read into a FrameHeader through the helpers,
    // serializeHeader() writes the same two bytes back.
    for (int b0 = 0; b0 < 256; ++b0) {
        for (int b1 = 0; b1 < 256; ++b1) {
            FrameHeader h;
            h.setByte0(unpackByte0(quint8(b0)));
            const HeaderByte1 second = unpackByte1(quint8(b1));
            if (second.masked)
                h.maskingKey = 0x01020304;
            h.lengthEncoding = lengthEncodingOf(second.length7);
            h.payloadLength = h.lengthEncoding == LengthEncoding::Short7 ? second.length7 : 70000;
            QCOMPARE(h.byte0(), unpackByte0(quint8(b0)));
            QCOMPARE(h.byte1(), second);
            const RawHeaderBytes raw = serializeHeader(h);
            if (raw.bytes[0] != b0 || raw.bytes[1] != b1)
                QFAIL(qPrintable(QStringLiteral("%1 %2 came back as %3 %4")
                                     .arg(b0, 2, 16, QLatin1Char('0'))
                                     .arg(b1, 2, 16, QLatin1Char('0'))
                                     .arg(raw.bytes[0], 2, 16, QLatin1Char('0'))
                                     .arg(raw.bytes[1], 2, 16, QLatin1Char('0'))));
            QCOMPARE(int(raw.size), headerSize(second));
        }
    }
}

void TestFrameHeader::lengthField_data() {
    QTest::addColumn<int>("length7");
    QTest::addColumn<int>("bits");
    QTest::addColumn<int>("extendedBytes");

    QTest::newRow("0") << 0 << 7 << 0;
    QTest::newRow("125") << 125 << 7 << 0;
    QTest::newRow("126") << 126 << 16 << 2;
    QTest::newRow("127") << 127 << 64 << 8;
}

void TestFrameHeader::lengthField() {
    QFETCH(int, length7);
    QFETCH(int, bits);
    QFETCH(int, extendedBytes);

    const LengthEncoding encoding = lengthEncodingOf(quint8(length7));
    QCOMPARE(int(encoding), bits);
    QCOMPARE(extendedLengthSize(encoding), extendedBytes);
    QCOMPARE(headerSize(HeaderByte1{.masked = false, .length7 = quint8(length7)}),
             2 + extendedBytes);
    QCOMPARE(headerSize(HeaderByte1{.masked = true, .length7 = quint8(length7)}),
             6 + extendedBytes);
    // Writing the field again: the extended encodings announce themselves, a 7-bit
    // length is itself (and keeps only its low bits when it is too big).
    QCOMPARE(int(length7For(encoding, quint64(length7))), length7);
    QCOMPARE(int(length7For(LengthEncoding::Short7, 0x1ff)), 0x7f);
}

void TestFrameHeader::resetGivesTheDefaultHeader() {
    FrameHeader header;
    header.fin = false;
    header.rsv1 = header.rsv2 = header.rsv3 = true;
    header.opcode = 0xA;
    header.maskingKey = 0x01020304;
    header.payloadLength = 70000;
    header.lengthEncoding = LengthEncoding::Extended64;
    header.reset();
    QCOMPARE(header, FrameHeader{});
}

QTEST_APPLESS_MAIN(TestFrameHeader)
#include "tst_frameheader.moc"
