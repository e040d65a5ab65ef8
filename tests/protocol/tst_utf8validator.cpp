#include "protocol/utf8validator.h"

#include <QByteArray>
#include <QRandomGenerator>
#include <QStringDecoder>
#include <QTest>

using namespace ws;
using Status = Utf8Validator::Status;

namespace ws {
// QCOMPARE prints this on a mismatch (found by argument-dependent lookup).
char *toString(Utf8Validator::Status status) {
    switch (status) {
    case Utf8Validator::Status::Valid:
        return qstrdup("Valid");
    case Utf8Validator::Status::Incomplete:
        return qstrdup("Incomplete");
    case Utf8Validator::Status::Invalid:
        return qstrdup("Invalid");
    }
    return qstrdup("?");
}
} // namespace ws

namespace {

struct Verdict {
    Status status = Status::Valid;
    qint64 errorOffset = -1;
    bool operator==(const Verdict &) const = default;
};

char *toString(const Verdict &verdict) {
    return QTest::toString(QStringLiteral("{%1, offset %2}")
                               .arg(QString::fromLatin1(ws::toString(verdict.status)))
                               .arg(verdict.errorOffset));
}

// A second, independent reading of RFC 3629 §4 (the table of well-formed byte
// sequences) written as plainly as possible: the lead byte fixes the length and
// the range allowed for the second byte; every later byte is 80..BF.
Verdict referenceVerdict(QByteArrayView bytes) {
    const auto at = [&](qsizetype i) { return static_cast<unsigned char>(bytes[i]); };
    qsizetype i = 0;
    while (i < bytes.size()) {
        const unsigned lead = at(i);
        if (lead <= 0x7F) {
            ++i;
            continue;
        }
        int length = 0;
        unsigned low = 0x80;
        unsigned high = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) {
            length = 2;
        } else if (lead == 0xE0) {
            length = 3;
            low = 0xA0;
        } else if (lead == 0xED) {
            length = 3;
            high = 0x9F;
        } else if (lead >= 0xE1 && lead <= 0xEF) {
            length = 3;
        } else if (lead == 0xF0) {
            length = 4;
            low = 0x90;
        } else if (lead >= 0xF1 && lead <= 0xF3) {
            length = 4;
        } else if (lead == 0xF4) {
            length = 4;
            high = 0x8F;
        } else {
            return {Status::Invalid, i};
        }
        for (int k = 1; k < length; ++k) {
            if (i + k >= bytes.size())
                return {Status::Incomplete, -1};
            const unsigned byte = at(i + k);
            const unsigned min = k == 1 ? low : 0x80;
            const unsigned max = k == 1 ? high : 0xBF;
            if (byte < min || byte > max)
                return {Status::Invalid, i + k};
        }
        i += length;
    }
    return {Status::Valid, -1};
}

// Qt's own UTF-8 decoder, which rejects the same things RFC 3629 does. Stateless,
// it also fails on a truncated last character, so it judges a complete message.
// (It only notices a bad second byte once the sequence is over, so it cannot tell
// Incomplete from Invalid fail-fast; the reference reading above does that.)
bool qtAcceptsCompleteMessage(const QByteArray &bytes) {
    QStringDecoder decoder(QStringDecoder::Utf8, QStringConverter::Flag::Stateless);
    // decode() is lazy: nothing is decoded until the result becomes a QString.
    const QString decoded = decoder.decode(bytes);
    return !decoder.hasError();
}

Verdict validateWhole(QByteArrayView bytes) {
    Utf8Validator validator;
    const Status status = validator.feed(bytes);
    return {status, validator.errorOffset()};
}

// Feeds `bytes` cut at `cuts` (ascending offsets) and checks fail-fast behaviour
// after every piece: Invalid exactly from the piece that holds the offending byte.
// Returns an empty string or a description of the first disagreement.
QString replayInPieces(const QByteArray &bytes, const QList<qsizetype> &cuts, const Verdict &want) {
    Utf8Validator validator;
    qsizetype done = 0;
    QList<qsizetype> ends = cuts;
    ends.append(bytes.size());
    for (const qsizetype end : ends) {
        const Status status = validator.feed(QByteArrayView(bytes).sliced(done, end - done));
        const bool errorFed = want.status == Status::Invalid && want.errorOffset < end;
        if ((status == Status::Invalid) != errorFed || status != validator.status()) {
            return QStringLiteral("after %1 of %2 bytes: status %3, error offset %4")
                .arg(end)
                .arg(bytes.size())
                .arg(int(status))
                .arg(validator.errorOffset());
        }
        if (errorFed && validator.errorOffset() != want.errorOffset) {
            return QStringLiteral("error offset %1, expected %2")
                .arg(validator.errorOffset())
                .arg(want.errorOffset);
        }
        done = end;
    }
    if (validator.status() != want.status)
        return QStringLiteral("final status %1, expected %2")
            .arg(int(validator.status()))
            .arg(int(want.status));
    if (validator.isCompleteAndValid() != (want.status == Status::Valid))
        return QStringLiteral("isCompleteAndValid disagrees with the status");
    return {};
}

QList<qsizetype> randomCuts(QRandomGenerator &random, qsizetype size) {
    QList<qsizetype> cuts;
    qsizetype at = 0;
    while (size > 0) {
        at += random.bounded(std::max<qint64>(2, size / 3));
        if (at > size)
            break;
        cuts.append(at); // cuts may repeat: empty pieces are fed too
    }
    return cuts;
}

void appendCodePoint(QByteArray &out, char32_t c) {
    if (c < 0x80) {
        out += char(c);
    } else if (c < 0x800) {
        out += char(0xC0 | (c >> 6));
        out += char(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += char(0xE0 | (c >> 12));
        out += char(0x80 | ((c >> 6) & 0x3F));
        out += char(0x80 | (c & 0x3F));
    } else {
        out += char(0xF0 | (c >> 18));
        out += char(0x80 | ((c >> 12) & 0x3F));
        out += char(0x80 | ((c >> 6) & 0x3F));
        out += char(0x80 | (c & 0x3F));
    }
}

char32_t randomScalarValue(QRandomGenerator &random) {
    switch (random.bounded(8)) {
    case 0:
    case 1:
    case 2:
        return char32_t(random.bounded(0x80));
    case 3:
        return char32_t(random.bounded(0x80, 0x800));
    case 4: { // anywhere in the BMP but the surrogates
        const char32_t c = char32_t(random.bounded(0x800, 0x10000 - 0x800));
        return c >= 0xD800 ? c + 0x800 : c;
    }
    case 5: // Cyrillic, CJK
        return random.bounded(2) ? char32_t(random.bounded(0x400, 0x500))
                                 : char32_t(random.bounded(0x4E00, 0xA000));
    case 6:
        return char32_t(random.bounded(0x10000, 0x110000));
    default: { // the edges of every range
        static const char32_t edges[] = {0x0,    0x7F,    0x80,    0x7FF,    0x800,
                                         0xD7FF, 0xE000,  0xFFFD,  0xFFFE,   0xFFFF,
                                         0xFEFF, 0x10000, 0x1F600, 0x10FFFF, 0x20};
        return edges[random.bounded(int(std::size(edges)))];
    }
    }
}

// Mostly valid text; each defect is one of the ways UTF-8 goes wrong.
void appendDefect(QRandomGenerator &random, QByteArray &out) {
    const auto continuation = [&] { return char(0x80 + random.bounded(0x40)); };
    switch (random.bounded(9)) {
    case 0: // any byte at all
        out += char(random.bounded(256));
        break;
    case 1: // a stray continuation byte
        out += continuation();
        break;
    case 2: { // a character with its tail cut off
        QByteArray character;
        appendCodePoint(character, char32_t(random.bounded(0x80, 0x110000)) & 0x10FFFF);
        if (character.size() > 1)
            character.chop(1 + random.bounded(int(character.size() - 1)));
        out += character;
        break;
    }
    case 3: // a surrogate, U+D800..U+DFFF
        out += char(0xED);
        out += char(0xA0 + random.bounded(0x20));
        out += continuation();
        break;
    case 4: // overlong two-byte form
        out += char(0xC0 + random.bounded(2));
        out += continuation();
        break;
    case 5: // overlong three-byte form
        out += char(0xE0);
        out += char(0x80 + random.bounded(0x20));
        out += continuation();
        break;
    case 6: // overlong four-byte form
        out += char(0xF0);
        out += char(0x80 + random.bounded(0x10));
        out += continuation();
        out += continuation();
        break;
    case 7: // above U+10FFFF
        out += char(0xF4);
        out += char(0x90 + random.bounded(0x30));
        out += continuation();
        out += continuation();
        break;
    default: // F5..FF
        out += char(0xF5 + random.bounded(11));
        out += continuation();
        break;
    }
}

QByteArray randomText(QRandomGenerator &random, int defectOneIn) {
    QByteArray out;
    const int length = random.bounded(64);
    for (int i = 0; i < length; ++i) {
        if (defectOneIn > 0 && random.bounded(defectOneIn) == 0)
            appendDefect(random, out);
        else
            appendCodePoint(out, randomScalarValue(random));
    }
    return out;
}

} // namespace

class TestUtf8Validator : public QObject {
    Q_OBJECT

private slots:
    void table_data();
    void table();
    void incompleteAtEndOfTruncatedCharacter_data();
    void incompleteAtEndOfTruncatedCharacter();
    void everyLeadByteAlone();
    void staysInvalidAfterAnError();
    void emptyPiecesChangeNothing();
    void reset();
    void errorOffsetCountsFromReset();
    void badByteInLongAsciiRun_data();
    void badByteInLongAsciiRun();
    void agreesWithQtAndReference();
};

void TestUtf8Validator::table_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<Status>("expected");
    QTest::addColumn<qint64>("errorOffset");

    const auto valid = [](const char *name, const char *hex) {
        QTest::newRow(name) << QByteArray::fromHex(hex) << Status::Valid << qint64(-1);
    };
    const auto incomplete = [](const char *name, const char *hex) {
        QTest::newRow(name) << QByteArray::fromHex(hex) << Status::Incomplete << qint64(-1);
    };
    const auto invalid = [](const char *name, const char *hex, qint64 offset) {
        QTest::newRow(name) << QByteArray::fromHex(hex) << Status::Invalid << offset;
    };

    // Markus Kuhn's UTF-8 decoder stress test, section 1 and 2: valid text and the
    // first and last code point of each encoded length.
    valid("empty", "");
    valid("ascii Hello", "48656c6c6f");
    valid("kuhn 1 kosme", "cebae1bdb9cf83cebcceb5");
    valid("U+0000", "00");
    valid("U+007F", "7f");
    valid("U+0080", "c280");
    valid("U+07FF", "dfbf");
    valid("U+0800", "e0a080");
    valid("U+D7FF", "ed9fbf");
    valid("U+E000", "ee8080");
    valid("U+FFFD", "efbfbd");
    valid("U+FFFE noncharacter", "efbfbe");
    valid("U+FFFF", "efbfbf");
    valid("U+FEFF byte order mark", "efbbbf");
    valid("U+10000", "f0908080");
    valid("U+10FFFF", "f48fbfbf");
    valid("U+1F600 emoji", "f09f9880");
    valid("mixed lengths", "41c280e0a080f0908080f48fbfbf7a");
    valid("Hello-mu@sz-UTF-8!!", "48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121");

    // 3.1 unexpected continuation bytes
    for (unsigned byte = 0x80; byte <= 0xBF; ++byte) {
        const QByteArray hex = QByteArray::number(byte, 16);
        QTest::addRow("3.1 lone continuation %02x", byte)
            << QByteArray::fromHex(hex) << Status::Invalid << qint64(0);
    }
    invalid("3.1 two continuation bytes", "80bf", 0);
    invalid("3.1 continuation after ASCII", "4180", 1);
    invalid("3.1 continuation after 2-byte char", "c28080", 2);
    invalid("3.1 continuation after 3-byte char", "e0a080bf", 3);
    invalid("3.1 continuation after 4-byte char", "f090808080", 4);

    // 3.2 lonely start bytes, each followed by a space
    for (unsigned byte = 0xC2; byte <= 0xF4; ++byte) {
        const QByteArray hex = QByteArray::number(byte, 16) + "20";
        QTest::addRow("3.2 lonely start %02x then space", byte)
            << QByteArray::fromHex(hex) << Status::Invalid << qint64(1);
    }
    invalid("3.2 lonely c0 then space", "c020", 0);
    invalid("3.2 lonely c1 then space", "c120", 0);

    // 3.3 sequences with the last continuation byte missing, then more text
    invalid("3.3 2-byte U+0000 truncated", "c041", 0);
    invalid("3.3 2-byte truncated then ASCII", "df41", 1);
    invalid("3.3 3-byte truncated then ASCII", "efbf41", 2);
    invalid("3.3 4-byte truncated then ASCII", "f48fbf41", 3);
    invalid("3.3 3-byte truncated then lead", "e0a0c280", 2);
    invalid("3.3 4-byte truncated then lead", "f09080f0908080", 3);
    invalid("3.3 truncated E0 after valid text", "48e0a048", 3);
    // ...and at the very end: valid so far, just not finished
    incomplete("3.3 2-byte truncated at end", "c2");
    incomplete("3.3 3-byte truncated at end", "e0a0");
    incomplete("3.3 3-byte missing two at end", "ef");
    incomplete("3.3 4-byte truncated at end", "f09080");
    incomplete("3.3 U+10FFFF truncated at end", "f48fbf");
    incomplete("3.3 after ASCII", "4142f0");

    // 3.4 concatenation of incomplete sequences: fails at the second lead byte
    invalid("3.4 c2 then e0", "c2e0a080", 1);
    invalid("3.4 e1 80 then f1", "e180f1808080", 2);
    invalid("3.4 all incomplete",
            "c0e080f08080f8808080fc80808080df"
            "ef"
            "bf"
            "f7bfbf",
            0);

    // 3.5 impossible bytes
    invalid("3.5 fe", "fe", 0);
    invalid("3.5 ff", "ff", 0);
    invalid("3.5 fefeffff", "fefeffff", 0);
    invalid("3.5 ff after text", "61626364ff", 4);

    // 4.1 overlong ASCII "/" (U+002F)
    invalid("4.1 overlong / 2-byte", "c0af", 0);
    invalid("4.1 overlong / 3-byte", "e080af", 1);
    invalid("4.1 overlong / 4-byte", "f08080af", 1);
    invalid("4.1 overlong / 5-byte", "f8808080af", 0);
    invalid("4.1 overlong / 6-byte", "fc80808080af", 0);
    // 4.2 the largest overlong form of each length
    invalid("4.2 max overlong 2-byte U+007F", "c1bf", 0);
    invalid("4.2 max overlong 3-byte U+07FF", "e09fbf", 1);
    invalid("4.2 max overlong 4-byte U+FFFF", "f08fbfbf", 1);
    invalid("4.2 max overlong 5-byte", "f887bfbfbf", 0);
    // 4.3 overlong NUL
    invalid("4.3 overlong NUL 2-byte", "c080", 0);
    invalid("4.3 overlong NUL 3-byte", "e08080", 1);
    invalid("4.3 overlong NUL 4-byte", "f0808080", 1);
    invalid("4.3 overlong NUL 5-byte", "f880808080", 0);
    invalid("E0 80 fails at the 80", "e080", 1);

    // 5.1 single UTF-16 surrogates
    invalid("5.1 U+D800", "eda080", 1);
    invalid("5.1 U+DB7F", "edadbf", 1);
    invalid("5.1 U+DB80", "edae80", 1);
    invalid("5.1 U+DBFF", "edafbf", 1);
    invalid("5.1 U+DC00", "edb080", 1);
    invalid("5.1 U+DF80", "edbe80", 1);
    invalid("5.1 U+DFFF", "edbfbf", 1);
    invalid("ED A0 fails at the A0", "eda0", 1);
    // 5.2 paired UTF-16 surrogates
    invalid("5.2 U+D800 U+DC00", "eda080edb080", 1);
    invalid("5.2 U+DBFF U+DFFF", "edafbfedbfbf", 1);
    invalid("surrogate after kosme", "cebae1bdb9cf83cebcceb5eda080656469746564", 12);

    // Above U+10FFFF
    invalid("U+110000", "f4908080", 1);
    invalid("F4 90 fails at the 90", "f490", 1);
    invalid("F4 BF", "f4bfbfbf", 1);
    for (unsigned byte = 0xF5; byte <= 0xFF; ++byte) {
        const QByteArray hex = QByteArray::number(byte, 16) + "808080";
        QTest::addRow("above U+10FFFF lead %02x", byte)
            << QByteArray::fromHex(hex) << Status::Invalid << qint64(0);
    }
    invalid("C0 alone", "c0", 0);
    invalid("C1 alone", "c1", 0);
    invalid("C1 after text", "7a7a7ac1bf", 3);
}

void TestUtf8Validator::table() {
    QFETCH(QByteArray, bytes);
    QFETCH(Status, expected);
    QFETCH(qint64, errorOffset);
    const Verdict want{expected, errorOffset};

    // The independent reading of the RFC agrees with the table, so the table is
    // not wrong in the same way as the code.
    QCOMPARE(referenceVerdict(bytes).status, expected);
    QCOMPARE(referenceVerdict(bytes).errorOffset, errorOffset);

    // Whole.
    Utf8Validator validator;
    QCOMPARE(validator.feed(bytes), expected);
    QCOMPARE(validator.status(), expected);
    QCOMPARE(validator.errorOffset(), errorOffset);
    QCOMPARE(validator.isCompleteAndValid(), expected == Status::Valid);
    QCOMPARE(Utf8Validator::isValid(bytes), expected == Status::Valid);

    // One byte at a time: Invalid exactly when the offending byte arrives.
    QList<qsizetype> everyByte;
    for (qsizetype i = 1; i < bytes.size(); ++i)
        everyByte.append(i);
    QString failure = replayInPieces(bytes, everyByte, want);
    QVERIFY2(failure.isEmpty(), qPrintable(QStringLiteral("byte by byte: ") + failure));

    // Every single split point, and random ones.
    for (qsizetype cut = 0; cut <= bytes.size(); ++cut) {
        failure = replayInPieces(bytes, {cut}, want);
        QVERIFY2(failure.isEmpty(), qPrintable(QStringLiteral("cut at %1: ").arg(cut) + failure));
    }
    for (const quint32 seed : {1u, 2u, 3u, 4u, 5u}) {
        QRandomGenerator random(seed);
        failure = replayInPieces(bytes, randomCuts(random, bytes.size()), want);
        QVERIFY2(failure.isEmpty(), qPrintable(QStringLiteral("seed %1: ").arg(seed) + failure));
    }

    // Behind a long ASCII prefix, through the word-at-a-time path, at an odd offset.
    const QByteArray prefix(37, 'a');
    const Verdict shifted{expected, errorOffset < 0 ? -1 : errorOffset + prefix.size()};
    QCOMPARE(validateWhole(prefix + bytes), shifted);
    failure = replayInPieces(prefix + bytes, {5, 21}, shifted);
    QVERIFY2(failure.isEmpty(), qPrintable(QStringLiteral("after prefix: ") + failure));
}

void TestUtf8Validator::incompleteAtEndOfTruncatedCharacter_data() {
    QTest::addColumn<QByteArray>("character");
    QTest::newRow("U+0080") << QByteArray::fromHex("c280");
    QTest::newRow("U+07FF") << QByteArray::fromHex("dfbf");
    QTest::newRow("U+0800") << QByteArray::fromHex("e0a080");
    QTest::newRow("U+D7FF") << QByteArray::fromHex("ed9fbf");
    QTest::newRow("U+E000") << QByteArray::fromHex("ee8080");
    QTest::newRow("U+FFFF") << QByteArray::fromHex("efbfbf");
    QTest::newRow("U+10000") << QByteArray::fromHex("f0908080");
    QTest::newRow("U+10FFFF") << QByteArray::fromHex("f48fbfbf");
    QTest::newRow("U+1F600") << QByteArray::fromHex("f09f9880");
}

void TestUtf8Validator::incompleteAtEndOfTruncatedCharacter() {
    QFETCH(QByteArray, character);
    for (const QByteArray &before : {QByteArray(), QByteArray("ab"), QByteArray(40, 'x')}) {
        for (qsizetype length = 1; length < character.size(); ++length) {
            Utf8Validator validator;
            QCOMPARE(validator.feed(before + character.left(length)), Status::Incomplete);
            QVERIFY(!validator.isCompleteAndValid());
            QCOMPARE(validator.errorOffset(), qint64(-1));
            QVERIFY(!Utf8Validator::isValid(before + character.left(length)));
            // The rest completes it.
            QCOMPARE(validator.feed(character.mid(length)), Status::Valid);
            QVERIFY(validator.isCompleteAndValid());
        }
    }
}

void TestUtf8Validator::everyLeadByteAlone() {
    // Every byte value on its own, compared with the reference reading of the RFC.
    for (int byte = 0; byte < 256; ++byte) {
        const QByteArray bytes(1, char(byte));
        const Verdict want = byte < 0x80                      ? Verdict{Status::Valid, -1}
                             : (byte >= 0xC2 && byte <= 0xF4) ? Verdict{Status::Incomplete, -1}
                                                              : Verdict{Status::Invalid, 0};
        QCOMPARE(referenceVerdict(bytes), want);
        QCOMPARE(validateWhole(bytes), want);
    }
}

void TestUtf8Validator::staysInvalidAfterAnError() {
    Utf8Validator validator;
    QCOMPARE(validator.feed("ab\xc0"), Status::Invalid);
    QCOMPARE(validator.errorOffset(), qint64(2));
    QCOMPARE(validator.feed("valid text"), Status::Invalid);
    QCOMPARE(validator.feed(QByteArray::fromHex("80")), Status::Invalid);
    QCOMPARE(validator.errorOffset(), qint64(2));
    QVERIFY(!validator.isCompleteAndValid());
}

void TestUtf8Validator::emptyPiecesChangeNothing() {
    Utf8Validator validator;
    QCOMPARE(validator.feed({}), Status::Valid);
    QCOMPARE(validator.feed(QByteArray::fromHex("f0")), Status::Incomplete);
    QCOMPARE(validator.feed({}), Status::Incomplete);
    QCOMPARE(validator.feed(QByteArray::fromHex("9f98")), Status::Incomplete);
    QCOMPARE(validator.feed(QByteArrayView()), Status::Incomplete);
    QCOMPARE(validator.feed(QByteArray::fromHex("80")), Status::Valid);
    QCOMPARE(validator.feed({}), Status::Valid);
}

void TestUtf8Validator::reset() {
    Utf8Validator validator;
    QCOMPARE(validator.feed(QByteArray::fromHex("4142ff")), Status::Invalid);
    QCOMPARE(validator.errorOffset(), qint64(2));
    validator.reset();
    QCOMPARE(validator.status(), Status::Valid);
    QCOMPARE(validator.errorOffset(), qint64(-1));
    QVERIFY(validator.isCompleteAndValid());
    QCOMPARE(validator.feed(QByteArray::fromHex("c3a9")), Status::Valid);

    // A reset in the middle of a character forgets it: a continuation byte is now
    // unexpected.
    QCOMPARE(validator.feed(QByteArray::fromHex("e282")), Status::Incomplete);
    validator.reset();
    QCOMPARE(validator.feed(QByteArray::fromHex("ac")), Status::Invalid);
    QCOMPARE(validator.errorOffset(), qint64(0));

    // ...and a lead byte after a reset starts afresh.
    validator.reset();
    QCOMPARE(validator.feed(QByteArray::fromHex("e282ac")), Status::Valid);
}

void TestUtf8Validator::errorOffsetCountsFromReset() {
    Utf8Validator validator;
    QCOMPARE(validator.feed(QByteArray(100, 'a')), Status::Valid);
    QCOMPARE(validator.feed(QByteArray::fromHex("e0")), Status::Incomplete);
    // E0 80 is an overlong form: the error is the 80, byte 101 since the start.
    QCOMPARE(validator.feed(QByteArray::fromHex("80")), Status::Invalid);
    QCOMPARE(validator.errorOffset(), qint64(101));

    validator.reset();
    QCOMPARE(validator.feed("12345"), Status::Valid);
    QCOMPARE(validator.feed(QByteArray::fromHex("4142edb0")), Status::Invalid);
    QCOMPARE(validator.errorOffset(), qint64(8));
}

void TestUtf8Validator::badByteInLongAsciiRun_data() {
    QTest::addColumn<QByteArray>("insert");
    QTest::addColumn<Status>("expected");
    QTest::addColumn<int>("errorDelta"); // error offset relative to the insert

    QTest::newRow("continuation 80") << QByteArray::fromHex("80") << Status::Invalid << 0;
    QTest::newRow("impossible ff") << QByteArray::fromHex("ff") << Status::Invalid << 0;
    QTest::newRow("c0") << QByteArray::fromHex("c0") << Status::Invalid << 0;
    QTest::newRow("lonely c3") << QByteArray::fromHex("c3") << Status::Invalid << 1;
    QTest::newRow("truncated e2 82") << QByteArray::fromHex("e282") << Status::Invalid << 2;
    QTest::newRow("surrogate") << QByteArray::fromHex("eda080") << Status::Invalid << 1;
    QTest::newRow("valid e-acute") << QByteArray::fromHex("c3a9") << Status::Valid << -1;
    QTest::newRow("valid euro") << QByteArray::fromHex("e282ac") << Status::Valid << -1;
    QTest::newRow("valid emoji") << QByteArray::fromHex("f09f9880") << Status::Valid << -1;
}

void TestUtf8Validator::badByteInLongAsciiRun() {
    QFETCH(QByteArray, insert);
    QFETCH(Status, expected);
    QFETCH(int, errorDelta);

    // The insert lands at every position of ASCII runs long enough to be checked
    // in words and blocks, starting at every alignment of a 16-byte block.
    for (const qsizetype runLength : {71, 150, 300}) {
        for (qsizetype position = 0; position <= 70; ++position) {
            for (qsizetype skew = 0; skew < 16; skew += 5) {
                QByteArray buffer(skew, 'z');
                buffer += QByteArray(runLength, 'q');
                buffer.insert(skew + position, insert);
                const QByteArrayView text = QByteArrayView(buffer).sliced(skew);
                const Verdict want{expected, errorDelta < 0 ? -1 : position + errorDelta};
                const Verdict got = validateWhole(text);
                if (got != want) {
                    QFAIL(qPrintable(QStringLiteral("run %1, position %2, skew %3: status %4 "
                                                    "offset %5")
                                         .arg(runLength)
                                         .arg(position)
                                         .arg(skew)
                                         .arg(int(got.status))
                                         .arg(got.errorOffset)));
                }
                QCOMPARE(referenceVerdict(text), want);
                // Cut just after the insert's first byte: a character left open by
                // one piece must not let the next piece's ASCII skip through.
                const QString failure = replayInPieces(text.toByteArray(), {position + 1}, want);
                QVERIFY2(failure.isEmpty(),
                         qPrintable(
                             QStringLiteral("run %1, position %2: ").arg(runLength).arg(position) +
                             failure));
            }
        }
    }
}

void TestUtf8Validator::agreesWithQtAndReference() {
    // Random strings, mostly valid multi-byte text with defects sprinkled in, plus
    // some raw random bytes; the verdict must match Qt's decoder and the error
    // offset the reference reading, whole and in random pieces.
    int invalidSeen = 0;
    int incompleteSeen = 0;
    int validSeen = 0;
    for (quint32 seed = 1; seed <= 300; ++seed) {
        QRandomGenerator random(seed);
        for (int round = 0; round < 40; ++round) {
            QByteArray bytes;
            switch (random.bounded(4)) {
            case 0:
                bytes = randomText(random, 0);
                break;
            case 1:
                bytes = randomText(random, 40);
                break;
            case 2:
                bytes = randomText(random, 8);
                break;
            default:
                bytes.resize(random.bounded(12));
                for (char &byte : bytes)
                    byte = char(random.bounded(256));
                break;
            }
            // Messages cut short, often in the middle of a character.
            if (random.bounded(5) == 0)
                bytes.chop(std::min<qsizetype>(bytes.size(), 1 + random.bounded(2)));
            const Verdict reference = referenceVerdict(bytes);
            const Verdict got = validateWhole(bytes);
            if (got != reference ||
                (got.status == Status::Valid) != qtAcceptsCompleteMessage(bytes)) {
                QFAIL(qPrintable(QStringLiteral("seed %1 round %2: %3 gives status %4 "
                                                "offset %5; reference %6 offset %7; Qt accepts: %8")
                                     .arg(seed)
                                     .arg(round)
                                     .arg(QString::fromLatin1(bytes.toHex()))
                                     .arg(int(got.status))
                                     .arg(got.errorOffset)
                                     .arg(int(reference.status))
                                     .arg(reference.errorOffset)
                                     .arg(qtAcceptsCompleteMessage(bytes))));
            }
            const QString failure = replayInPieces(bytes, randomCuts(random, bytes.size()), got);
            QVERIFY2(failure.isEmpty(), qPrintable(QString::fromLatin1(bytes.toHex()) +
                                                   QStringLiteral(": ") + failure));
            invalidSeen += got.status == Status::Invalid;
            incompleteSeen += got.status == Status::Incomplete;
            validSeen += got.status == Status::Valid;
        }
    }
    // The generator really produced all three outcomes in bulk.
    QVERIFY(invalidSeen > 1000);
    QVERIFY(incompleteSeen > 300);
    QVERIFY(validSeen > 3000);
}

QTEST_APPLESS_MAIN(TestUtf8Validator)
#include "tst_utf8validator.moc"
