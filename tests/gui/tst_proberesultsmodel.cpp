// The probe's two tables, a run's results and two runs compared: the colours of their
// verdict cells (one function for both) and their column titles.

#include "models/probecomparisonmodel.h"
#include "models/proberesultsmodel.h"

#include <QTest>

using namespace ws;
using probe::Verdict;

namespace {

const QColor Green(0x2e, 0x7d, 0x32);
const QColor Yellow(0xf9, 0xc8, 0x2b);
const QColor Blue(0x42, 0x7d, 0xb8);
const QColor Grey(0x9e, 0x9e, 0x9e);
const QColor Red(0xc6, 0x28, 0x28);
const QColor Orange(0xef, 0x6c, 0x00);
const QColor White(Qt::white);
const QColor Black(Qt::black);

probe::CaseResult result(const QString &id, Verdict behavior, Verdict close) {
    probe::CaseResult r;
    r.id = id;
    r.description = QStringLiteral("case ") + id;
    r.behavior = behavior;
    r.behaviorClose = close;
    return r;
}

ProbeRun run(const QList<probe::CaseResult> &results) {
    ProbeRun out;
    out.results = results;
    return out;
}

} // namespace

class TestProbeResultsModel : public QObject {
    Q_OBJECT
private slots:
    void verdictCellColor_data();
    void verdictCellColor();
    void resultsColours();
    void comparisonColours();
    void columnTitles();
};

void TestProbeResultsModel::verdictCellColor_data() {
    QTest::addColumn<Verdict>("verdict");
    QTest::addColumn<QColor>("background");
    QTest::addColumn<QColor>("foreground");
    QTest::newRow("OK") << Verdict::Ok << Green << White;
    // Yellow is too light for white text.
    QTest::newRow("NON-STRICT") << Verdict::NonStrict << Yellow << Black;
    QTest::newRow("INFORMATIONAL") << Verdict::Informational << Blue << White;
    QTest::newRow("UNIMPLEMENTED") << Verdict::Unimplemented << Grey << White;
    QTest::newRow("FAILED") << Verdict::Failed << Red << White;
    QTest::newRow("WRONG CODE") << Verdict::WrongCode << Red << White;
    QTest::newRow("UNCLEAN") << Verdict::Unclean << Red << White;
    QTest::newRow("FAILED BY CLIENT") << Verdict::FailedByClient << Orange << White;
}

void TestProbeResultsModel::verdictCellColor() {
    QFETCH(Verdict, verdict);
    QFETCH(QColor, background);
    QFETCH(QColor, foreground);
    QCOMPARE(verdictBackground(verdict), background);
    QCOMPARE(verdictForeground(verdict), foreground);
    QCOMPARE(ws::verdictCellColor(verdict, Qt::BackgroundRole), QVariant(background));
    QCOMPARE(ws::verdictCellColor(verdict, Qt::ForegroundRole), QVariant(foreground));
    QCOMPARE(ws::verdictCellColor(verdict, Qt::DisplayRole), QVariant());
    QCOMPARE(ws::verdictCellColor(verdict, Qt::DecorationRole), QVariant());
}

void TestProbeResultsModel::resultsColours() {
    ProbeResultsModel model;
    model.setResults({result(QStringLiteral("1.1.1"), Verdict::Ok, Verdict::Ok),
                      result(QStringLiteral("7.1.1"), Verdict::NonStrict, Verdict::WrongCode)});
    const auto cell = [&](int row, int column, int role) {
        return model.index(row, column).data(role);
    };
    QCOMPARE(cell(0, ProbeResultsModel::BehaviorColumn, Qt::BackgroundRole), QVariant(Green));
    QCOMPARE(cell(0, ProbeResultsModel::BehaviorColumn, Qt::ForegroundRole), QVariant(White));
    QCOMPARE(cell(0, ProbeResultsModel::CloseColumn, Qt::BackgroundRole), QVariant(Green));
    QCOMPARE(cell(1, ProbeResultsModel::BehaviorColumn, Qt::BackgroundRole), QVariant(Yellow));
    QCOMPARE(cell(1, ProbeResultsModel::BehaviorColumn, Qt::ForegroundRole), QVariant(Black));
    QCOMPARE(cell(1, ProbeResultsModel::CloseColumn, Qt::BackgroundRole), QVariant(Red));
    QCOMPARE(cell(1, ProbeResultsModel::CloseColumn, Qt::ForegroundRole), QVariant(White));
    // The other cells keep the view's colours, but a failed case's text is red.
    for (const int column :
         {int(ProbeResultsModel::IdColumn), int(ProbeResultsModel::DescriptionColumn),
          int(ProbeResultsModel::DurationColumn)}) {
        QCOMPARE(cell(0, column, Qt::BackgroundRole), QVariant());
        QCOMPARE(cell(0, column, Qt::ForegroundRole), QVariant());
        QCOMPARE(cell(1, column, Qt::BackgroundRole), QVariant());
        QCOMPARE(cell(1, column, Qt::ForegroundRole), QVariant(Red));
    }
}

void TestProbeResultsModel::comparisonColours() {
    ProbeComparisonModel model;
    model.compare(run({result(QStringLiteral("2.1"), Verdict::Ok, Verdict::Ok),
                       result(QStringLiteral("2.2"), Verdict::Failed, Verdict::Ok),
                       result(QStringLiteral("2.3"), Verdict::Ok, Verdict::Ok)}),
                  run({result(QStringLiteral("2.1"), Verdict::Failed, Verdict::Ok),
                       result(QStringLiteral("2.2"), Verdict::Ok, Verdict::Ok),
                       result(QStringLiteral("2.3"), Verdict::Ok, Verdict::Ok),
                       result(QStringLiteral("2.4"), Verdict::Ok, Verdict::Unclean)}));
    QCOMPARE(model.rowCount(), 3);
    const auto cell = [&](int row, int column, int role) {
        return model.index(row, column).data(role);
    };
    // 2.1 got worse: its new verdict in its colours, the case id in red.
    QCOMPARE(model.row(0).change, ProbeComparisonModel::Change::Worse);
    QCOMPARE(cell(0, ProbeComparisonModel::BehaviorColumn, Qt::BackgroundRole), QVariant(Red));
    QCOMPARE(cell(0, ProbeComparisonModel::BehaviorColumn, Qt::ForegroundRole), QVariant(White));
    QCOMPARE(cell(0, ProbeComparisonModel::IdColumn, Qt::ForegroundRole), QVariant(Red));
    QCOMPARE(cell(0, ProbeComparisonModel::IdColumn, Qt::BackgroundRole), QVariant());
    // An unchanged verdict stays plain.
    QCOMPARE(cell(0, ProbeComparisonModel::CloseColumn, Qt::BackgroundRole), QVariant());
    QCOMPARE(cell(0, ProbeComparisonModel::CloseColumn, Qt::ForegroundRole), QVariant());
    // 2.2 got better: green.
    QCOMPARE(model.row(1).change, ProbeComparisonModel::Change::Better);
    QCOMPARE(cell(1, ProbeComparisonModel::BehaviorColumn, Qt::BackgroundRole), QVariant(Green));
    QCOMPARE(cell(1, ProbeComparisonModel::IdColumn, Qt::ForegroundRole), QVariant(Green));
    // 2.4 only in the new run: both verdicts are new, the id keeps its colour.
    QCOMPARE(model.row(2).change, ProbeComparisonModel::Change::OnlyNew);
    QCOMPARE(cell(2, ProbeComparisonModel::BehaviorColumn, Qt::BackgroundRole), QVariant(Green));
    QCOMPARE(cell(2, ProbeComparisonModel::CloseColumn, Qt::BackgroundRole), QVariant(Red));
    QCOMPARE(cell(2, ProbeComparisonModel::CloseColumn, Qt::ForegroundRole), QVariant(White));
    QCOMPARE(cell(2, ProbeComparisonModel::IdColumn, Qt::ForegroundRole), QVariant());
}

void TestProbeResultsModel::columnTitles() {
    const ProbeResultsModel results;
    QStringList titles;
    for (int column = 0; column < ProbeResultsModel::ColumnCount; ++column)
        titles.append(results.headerData(column, Qt::Horizontal).toString());
    QCOMPARE(titles, (QStringList{QStringLiteral("Case"), QStringLiteral("Description"),
                                  QStringLiteral("Verdict"), QStringLiteral("Close"),
                                  QStringLiteral("Duration")}));
    QCOMPARE(results.headerData(ProbeResultsModel::ColumnCount, Qt::Horizontal), QVariant());
    QCOMPARE(results.headerData(0, Qt::Vertical), QVariant());
    QCOMPARE(results.headerData(0, Qt::Horizontal, Qt::ToolTipRole), QVariant());

    const ProbeComparisonModel comparison;
    titles.clear();
    for (int column = 0; column < ProbeComparisonModel::ColumnCount; ++column)
        titles.append(comparison.headerData(column, Qt::Horizontal).toString());
    QCOMPARE(titles, (QStringList{QStringLiteral("Case"), QStringLiteral("Description"),
                                  QStringLiteral("Verdict (old \u2192 new)"),
                                  QStringLiteral("Close (old \u2192 new)")}));
    // The results table's Duration has no counterpart here.
    QCOMPARE(comparison.headerData(ProbeComparisonModel::ColumnCount, Qt::Horizontal), QVariant());
    QCOMPARE(comparison.headerData(-1, Qt::Horizontal), QVariant());
    QCOMPARE(comparison.headerData(0, Qt::Vertical), QVariant());
}

QTEST_GUILESS_MAIN(TestProbeResultsModel)
#include "tst_proberesultsmodel.moc"
