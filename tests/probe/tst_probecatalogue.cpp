// The probe's catalogue and verdict rules, without a network: Autobahn's ids and
// counts, patterns, the close judgement, report file names and the exact bytes of
// a fail-fast case.
#include "probe/catalogue.h"
#include "probe/probereport.h"

#include "protocol/frameencoder.h"

#include <QSet>

#include <QTest>
#include <algorithm>

using namespace ws;
using namespace ws::probe;

namespace {

// Built once: the catalogue holds the large payloads of 9.* and T.1.1.
const QList<ProbeCase> &catalogue() {
    static const QList<ProbeCase> cases = serverCatalogue();
    return cases;
}

} // namespace

class TestProbeCatalogue : public QObject {
    Q_OBJECT
private slots:
    void idsAreUniqueAndOrdered();
    void autobahnCounts_data();
    void autobahnCounts();
    void everyCaseIsDescribed();
    void patterns_data();
    void patterns();
    void selection();
    void closeJudgement_data();
    void closeJudgement();
    void behaviourJudgement();
    void failFastPartsMakeOneFrame();
    void reportFileNames();
    void deflateDataSets_data();
    void deflateDataSets();
    void deflateRoundTrips_data();
    void deflateRoundTrips();
};

void TestProbeCatalogue::idsAreUniqueAndOrdered() {
    const QList<ProbeCase> cases = catalogue();
    QSet<QString> ids;
    for (const ProbeCase &c : cases)
        QVERIFY2(!ids.contains(c.id), qPrintable(c.id));
    for (const ProbeCase &c : cases)
        ids.insert(c.id);
    // Autobahn's numbered cases come in its order.
    QStringList numbered;
    for (const ProbeCase &c : cases) {
        if (c.id.at(0).isDigit())
            numbered.append(c.id);
    }
    for (qsizetype i = 1; i < numbered.size(); ++i)
        QVERIFY2(caseIdLess(numbered.at(i - 1), numbered.at(i)),
                 qPrintable(numbered.at(i - 1) + QStringLiteral(" before ") + numbered.at(i)));
}

void TestProbeCatalogue::autobahnCounts_data() {
    QTest::addColumn<QString>("pattern");
    QTest::addColumn<int>("count");
    // The Autobahn|Testsuite's case counts per category (301 in 1-10).
    QTest::newRow("1") << "1.*" << 16;
    QTest::newRow("2") << "2.*" << 11;
    QTest::newRow("3") << "3.*" << 7;
    QTest::newRow("4") << "4.*" << 10;
    QTest::newRow("5") << "5.*" << 20;
    QTest::newRow("6") << "6.*" << 145;
    QTest::newRow("6.22 non-characters") << "6.22.*" << 34;
    QTest::newRow("7") << "7.*" << 37;
    QTest::newRow("9") << "9.*" << 54;
    QTest::newRow("10") << "10.*" << 1;
    // 12: five data sets of 18 sizes; 13: seven offers of 18 sizes.
    QTest::newRow("12") << "12.*" << 90;
    QTest::newRow("13") << "13.*" << 126;
    QTest::newRow("13.7") << "13.7.*" << 18;
}

void TestProbeCatalogue::autobahnCounts() {
    QFETCH(QString, pattern);
    QFETCH(int, count);
    QCOMPARE(selectCases(catalogue(), {pattern}, {}).size(), count);
}

void TestProbeCatalogue::everyCaseIsDescribed() {
    for (const ProbeCase &c : catalogue()) {
        QVERIFY2(!c.description.isEmpty() && !c.expectation.isEmpty(), qPrintable(c.id));
        QVERIFY2(c.rfc.startsWith(QStringLiteral("RFC ")), qPrintable(c.id));
        QVERIFY2(!c.steps.isEmpty() || c.handshake || c.prepare, qPrintable(c.id));
    }
}

void TestProbeCatalogue::patterns_data() {
    QTest::addColumn<QString>("id");
    QTest::addColumn<QString>("pattern");
    QTest::addColumn<bool>("matches");
    QTest::newRow("star") << "6.4.1"
                          << "*" << true;
    QTest::newRow("prefix") << "6.4.1"
                            << "6.4.*" << true;
    QTest::newRow("dot is literal") << "614.1"
                                    << "6.4.*" << false;
    QTest::newRow("not a prefix of 6.40") << "6.40.1"
                                          << "6.4.*" << false;
    QTest::newRow("exact") << "1.1.1"
                           << "1.1.1" << true;
    QTest::newRow("exact, longer id") << "1.1.10"
                                      << "1.1.1" << false;
    QTest::newRow("middle star") << "12.3.4"
                                 << "12.*.4" << true;
    QTest::newRow("letters, any case") << "H.1.2"
                                       << "h.*" << true;
}

void TestProbeCatalogue::patterns() {
    QFETCH(QString, id);
    QFETCH(QString, pattern);
    QFETCH(bool, matches);
    QCOMPARE(matchesCasePattern(id, pattern), matches);
}

void TestProbeCatalogue::selection() {
    const QList<ProbeCase> selected = selectCases(
        catalogue(), {QStringLiteral("2.*"), QStringLiteral("1.1.1")}, {QStringLiteral("2.1*")});
    QStringList ids;
    for (const ProbeCase &c : selected)
        ids.append(c.id);
    QCOMPARE(ids, QStringList({"1.1.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9"}));
}

void TestProbeCatalogue::closeJudgement_data() {
    QTest::addColumn<bool>("closedByMe");
    QTest::addColumn<bool>("wasClean");
    QTest::addColumn<int>("remoteCode"); // -1: none
    QTest::addColumn<bool>("droppedByMe");
    QTest::addColumn<QString>("verdict");
    // Expected: we close, 1000, clean (Autobahn's normal close).
    QTest::newRow("proper") << true << true << 1000 << false << "OK";
    QTest::newRow("wrong endpoint") << false << true << 1000 << false << "FAILED";
    QTest::newRow("unclean") << true << false << 1000 << false << "UNCLEAN";
    QTest::newRow("wrong code") << true << true << 1002 << false << "WRONG CODE";
    QTest::newRow("no code is fine") << true << true << -1 << false << "OK";
    QTest::newRow("server left TCP open") << true << true << 1000 << true << "FAILED BY CLIENT";
}

void TestProbeCatalogue::closeJudgement() {
    QFETCH(bool, closedByMe);
    QFETCH(bool, wasClean);
    QFETCH(int, remoteCode);
    QFETCH(bool, droppedByMe);
    QFETCH(QString, verdict);
    CaseResult result;
    result.behavior = Verdict::Ok;
    result.closedByMe = closedByMe;
    result.wasClean = wasClean;
    if (remoteCode >= 0)
        result.remoteCloseCode = quint16(remoteCode);
    result.droppedByMe = droppedByMe;
    judgeClose(result);
    QCOMPARE(verdictName(result.behaviorClose), verdict);
    QCOMPARE(result.isFailure(),
             verdict == u"FAILED" || verdict == u"WRONG CODE" || verdict == u"UNCLEAN");
}

void TestProbeCatalogue::behaviourJudgement() {
    // 3.2: the echo first is OK, nothing at all is NON-STRICT, anything else FAILED.
    const QList<ProbeCase> cases = selectCases(catalogue(), {QStringLiteral("3.2")}, {});
    QCOMPARE(cases.size(), 1);
    CaseResult result;
    result.expected = cases.first().expected;
    result.received = {Observation::message("Hello, world!")};
    judgeBehavior(result);
    QCOMPARE(result.behavior, Verdict::Ok);
    result.behavior = Verdict::Failed;
    result.received = {};
    judgeBehavior(result);
    QCOMPARE(result.behavior, Verdict::NonStrict);
    result.behavior = Verdict::Failed;
    result.received = {Observation::message("Hello, world!"), Observation::pong()};
    judgeBehavior(result);
    QCOMPARE(result.behavior, Verdict::Failed);
    // A fatal wrong endpoint fails the behaviour too (6.x: we had to fail the echo).
    result.expectedClose.closedByMe = false;
    result.expectedClose.closedByWrongEndpointIsFatal = true;
    result.closedByMe = true;
    result.behavior = Verdict::Ok;
    judgeClose(result);
    QCOMPARE(result.behavior, Verdict::Failed);
}

void TestProbeCatalogue::failFastPartsMakeOneFrame() {
    // 6.4.3: three chops of one masked frame; written one after the other they are
    // exactly the frame, and the second ends at the byte that makes it invalid.
    const QList<ProbeCase> cases = selectCases(catalogue(), {QStringLiteral("6.4.3")}, {});
    QCOMPARE(cases.size(), 1);
    QByteArray joined, whole;
    QList<qint64> ends;
    for (const Step &step : cases.first().steps) {
        const auto *part = std::get_if<SendFramePart>(&step);
        if (!part)
            continue;
        QByteArray bytes;
        FrameEncoder::encodeRaw(bytes, part->frame);
        whole = bytes;
        const qint64 header = bytes.size() - part->frame.payload.size();
        const qint64 to = part->to < 0 ? part->frame.payload.size() : part->to;
        const qint64 from = part->from == 0 ? 0 : header + part->from;
        joined += bytes.mid(from, header + to - from);
        ends.append(to);
    }
    QCOMPARE(ends.size(), 3);
    QCOMPARE(joined, whole);
    QCOMPARE(whole.toHex().left(4), QByteArray("8195")); // FIN text, masked, 21 bytes
    QCOMPARE(ends.at(0), 11);                            // κόσμε
    QCOMPARE(ends.at(1), 15);                            // f4 90 80 80: above U+10FFFF
}

void TestProbeCatalogue::reportFileNames() {
    QCOMPARE(caseReportFileName(QStringLiteral("AutobahnPython 0.6"), QStringLiteral("6.4.1")),
             QStringLiteral("autobahnpython_0_6_case_6_4_1.json"));
    QCOMPARE(caseReportFileName(QStringLiteral("server"), QStringLiteral("H.1.2")),
             QStringLiteral("server_case_h_1_2.json"));
}

void TestProbeCatalogue::deflateDataSets_data() {
    QTest::addColumn<int>("index");
    QTest::addColumn<qsizetype>("size");
    QTest::addColumn<QByteArray>("start");
    QTest::addColumn<bool>("text");
    // The sizes of Autobahn's files (case12_x_x.py), and what each stand-in is.
    QTest::newRow("12.1 JSON") << 0 << qsizetype(194237) << QByteArray("[\n  {\"id\": 1,") << true;
    QTest::newRow("12.2 bitmap") << 1 << qsizetype(263222) << QByteArray("BM") << false;
    QTest::newRow("12.3 prose") << 2 << qsizetype(222218) << QByteArray() << true;
    QTest::newRow("12.4 HTML") << 3 << qsizetype(83484) << QByteArray("<!DOCTYPE html>") << true;
    QTest::newRow("12.5 PDF") << 4 << qsizetype(1042328) << QByteArray("%PDF-1.4") << false;
}

void TestProbeCatalogue::deflateDataSets() {
    QFETCH(int, index);
    QFETCH(qsizetype, size);
    QFETCH(QByteArray, start);
    QFETCH(bool, text);
    const QByteArray data = deflateDataSet(index);
    QCOMPARE(data.size(), size);
    QVERIFY(data.startsWith(start));
    QCOMPARE(deflateDataSet(index), data); // deterministic
    if (text) {
        // ASCII: any slice of it is a valid UTF-8 text message.
        QVERIFY(std::all_of(data.cbegin(), data.cend(), [](char c) { return uchar(c) < 0x80; }));
    }
    QVERIFY(deflateDataSet(5).isEmpty());
}

void TestProbeCatalogue::deflateRoundTrips_data() {
    QTest::addColumn<QString>("id");
    QTest::addColumn<qsizetype>("length");
    QTest::addColumn<qint64>("fragment");
    QTest::addColumn<bool>("binary");
    QTest::addColumn<int>("offers");
    QTest::newRow("12.1.1") << "12.1.1" << qsizetype(16) << qint64(0) << false << 1;
    QTest::newRow("12.2.11") << "12.2.11" << qsizetype(8192) << qint64(256) << true << 1;
    QTest::newRow("12.5.18") << "12.5.18" << qsizetype(131072) << qint64(32768) << true << 1;
    QTest::newRow("13.4.10") << "13.4.10" << qsizetype(131072) << qint64(0) << false << 1;
    QTest::newRow("13.7.16") << "13.7.16" << qsizetype(131072) << qint64(1024) << false << 3;
}

void TestProbeCatalogue::deflateRoundTrips() {
    QFETCH(QString, id);
    QFETCH(qsizetype, length);
    QFETCH(qint64, fragment);
    QFETCH(bool, binary);
    QFETCH(int, offers);
    const QList<ProbeCase> selected = selectCases(catalogue(), {id}, {});
    QCOMPARE(selected.size(), 1);
    const ProbeCase &c = selected.first();
    QVERIFY(c.deflate);
    QCOMPARE(std::max<qsizetype>(1, c.deflateOffers.size()), offers);
    QVERIFY(!c.steps.isEmpty());
    const auto *trips = std::get_if<RoundTrips>(&c.steps.first());
    QVERIFY(trips);
    QCOMPARE(trips->count, 1000);
    QCOMPARE(trips->fragmentSize, fragment);
    QCOMPARE(trips->type, binary ? Opcode::Binary : Opcode::Text);
    // Message i is the next `length` bytes of the data set, taken cyclically.
    const QByteArray data = deflateDataSet(
        id.startsWith(QStringLiteral("13.")) ? 0 : id.section(u'.', 1, 1).toInt() - 1);
    QByteArray cycled;
    while (cycled.size() < length * 3)
        cycled += data;
    for (int i : {0, 1, 2}) {
        const QByteArray payload = trips->payloadAt(i);
        QCOMPARE(payload.size(), length);
        QCOMPARE(payload, cycled.mid(i * length, length));
    }
    const QByteArray late = trips->payloadAt(999);
    const qint64 from = (999 * qint64(length)) % data.size();
    QCOMPARE(late.left(16), (data + data).mid(from, 16));
}

QTEST_GUILESS_MAIN(TestProbeCatalogue)
#include "tst_probecatalogue.moc"
