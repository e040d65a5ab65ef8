#include "probepanel.h"

#include "connections/connectionhub.h"
#include "log/jsonlinesfile.h"
#include "models/messagelogmodel.h"
#include "models/probecomparisonmodel.h"
#include "net/server.h"
#include "net/tlscertificate.h"
#include "probe/catalogue.h"
#include "probe/fuzzingserver.h"
#include "probe/probereport.h"
#include "probe/proberunner.h"
#include "serverpanel.h"

#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QHostAddress>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QTreeWidget>
#include <QTreeWidgetItemIterator>
#include <QVBoxLayout>

#include <algorithm>

namespace ws {

using probe::Verdict;

namespace {

const QString TargetKey = QStringLiteral("probe/target");
const QString UrlKey = QStringLiteral("probe/url");
const QString ClientsPortKey = QStringLiteral("probe/clientsPort");
const QString CaFileKey = QStringLiteral("probe/caFile");
const QString FingerprintKey = QStringLiteral("probe/acceptedFingerprint");
const QString CategoriesKey = QStringLiteral("probe/categories");
const QString CasesKey = QStringLiteral("probe/cases");
const QString ExcludeKey = QStringLiteral("probe/exclude");
const QString VerdictFilterKey = QStringLiteral("probe/verdictFilter");
const QString SplitterKey = QStringLiteral("probe/splitter");

constexpr quint16 DefaultClientsPort = 9002;
constexpr int TickMs = 200;

// Tree items: the patterns a leaf stands for (settings), and the case ids it holds.
constexpr int PatternRole = Qt::UserRole + 1;
constexpr int IdsRole = Qt::UserRole + 2;

// The Autobahn|Testsuite's names for its case categories, and ours.
QString categoryName(const QString &category) {
    static const QHash<QString, const char *> names = {
        {QStringLiteral("1"), QT_TRANSLATE_NOOP("ws::ProbePanel", "Framing")},
        {QStringLiteral("2"), QT_TRANSLATE_NOOP("ws::ProbePanel", "Pings/Pongs")},
        {QStringLiteral("3"), QT_TRANSLATE_NOOP("ws::ProbePanel", "Reserved bits")},
        {QStringLiteral("4"), QT_TRANSLATE_NOOP("ws::ProbePanel", "Opcodes")},
        {QStringLiteral("5"), QT_TRANSLATE_NOOP("ws::ProbePanel", "Fragmentation")},
        {QStringLiteral("6"), QT_TRANSLATE_NOOP("ws::ProbePanel", "UTF-8 handling")},
        {QStringLiteral("7"), QT_TRANSLATE_NOOP("ws::ProbePanel", "Close handling")},
        {QStringLiteral("9"), QT_TRANSLATE_NOOP("ws::ProbePanel", "Limits/performance")},
        {QStringLiteral("10"), QT_TRANSLATE_NOOP("ws::ProbePanel", "Miscellaneous")},
        {QStringLiteral("12"),
         QT_TRANSLATE_NOOP("ws::ProbePanel", "Compression: different payloads")},
        {QStringLiteral("13"),
         QT_TRANSLATE_NOOP("ws::ProbePanel", "Compression: different parameters")},
        {QStringLiteral("H"), QT_TRANSLATE_NOOP("ws::ProbePanel", "Opening handshake")},
        {QStringLiteral("T"), QT_TRANSLATE_NOOP("ws::ProbePanel", "Timing")},
        {QStringLiteral("D"), QT_TRANSLATE_NOOP("ws::ProbePanel", "Deflate and RSV1")},
    };
    const char *name = names.value(category);
    return name ? ProbePanel::tr(name) : QString();
}

// "1.*,6.4.*" as patterns, the way `wsw probe --cases` reads them.
QStringList patternList(const QString &text) {
    QStringList out;
    for (const QString &part : text.split(u',', Qt::SkipEmptyParts)) {
        const QString pattern = part.trimmed();
        if (!pattern.isEmpty())
            out.append(pattern);
    }
    return out;
}

QString verdictCountsText(const QMap<Verdict, int> &counts) {
    QStringList parts;
    for (const Verdict verdict : probe::allVerdicts()) {
        if (counts.value(verdict) > 0)
            parts.append(QStringLiteral("<span style=\"background:%1;color:%2\">&nbsp;%3 "
                                        "%4&nbsp;</span>")
                             .arg(verdictBackground(verdict).name(),
                                  verdictForeground(verdict).name(), probe::verdictName(verdict))
                             .arg(counts.value(verdict)));
    }
    return parts.join(u' ');
}

QString secondsText(qint64 ms) {
    return ProbePanel::tr("%1 s").arg(double(ms) / 1000.0, 0, 'f', 1);
}

void setUpTable(QTableView *view) {
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::SingleSelection);
    view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view->setWordWrap(false);
    view->setAlternatingRowColors(false);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 6);
    view->horizontalHeader()->setHighlightSections(false);
}

} // namespace

ProbePanel::ProbePanel(ConnectionHub *hub, ServerPanel *server, QWidget *parent)
    : QWidget(parent)
    , m_hub(hub)
    , m_server(server)
    , m_catalogue(probe::serverCatalogue())
    , m_targetKind(new QComboBox(this))
    , m_url(new QLineEdit(this))
    , m_clientsPort(new QSpinBox(this))
    , m_trust(new TrustFieldsEdit(TrustFieldsEdit::Fields::CaFileAndFingerprint, tr("CA file:"),
                                  QStringLiteral("probe"), this))
    , m_targetNote(new QLabel(this))
    , m_categories(new QTreeWidget(this))
    , m_cases(new QLineEdit(this))
    , m_exclude(new QLineEdit(this))
    , m_selection(new QLabel(this))
    , m_run(new QPushButton(tr("Run"), this))
    , m_stop(new QPushButton(tr("Stop"), this))
    , m_progress(new QProgressBar(this))
    , m_progressText(new QLabel(this))
    , m_status(new QLabel(this))
    , m_splitter(new QSplitter(Qt::Horizontal, this))
    , m_tabs(new QTabWidget(this))
    , m_runCombo(new QComboBox(this))
    , m_verdict(new QComboBox(this))
    , m_filter(new QLineEdit(this))
    , m_openReport(new QPushButton(tr("Open report\u2026"), this))
    , m_saveReport(new QPushButton(tr("Save report\u2026"), this))
    , m_view(new QTableView(this))
    , m_model(new ProbeResultsModel(this))
    , m_proxy(new ProbeResultsProxy(this))
    , m_summary(new QLabel(this))
    , m_compareOld(new QComboBox(this))
    , m_compareNew(new QComboBox(this))
    , m_comparisonView(new QTableView(this))
    , m_comparison(new ProbeComparisonModel(this))
    , m_comparisonSummary(new QLabel(this)) {
    setObjectName(QStringLiteral("probePanel"));
    m_targetKind->addItem(tr("URL"), int(TargetKind::Url));
    if (m_server)
        m_targetKind->addItem(tr("My hosted server"), int(TargetKind::HostedServer));
    m_targetKind->addItem(tr("Clients that connect to me"), int(TargetKind::Clients));
    m_targetKind->setToolTip(tr("URL: a server's echo endpoint. My hosted server: the server "
                                "panel's (started when it is not running). Clients: Autobahn's "
                                "fuzzingserver URLs on a port of ours; each client is an agent."));
    m_url->setPlaceholderText(QStringLiteral("ws://127.0.0.1:9001/"));
    m_url->setClearButtonEnabled(true);
    m_clientsPort->setRange(0, 65535);
    m_clientsPort->setSpecialValueText(tr("any free port"));
    m_clientsPort->setValue(DefaultClientsPort);
    m_trust->caFileEdit()->setToolTip(
        tr("wss: a PEM file of certificate authorities (or the server's own certificate) "
           "trusted besides the system's, as wsw probe --ca"));
    m_trust->fingerprintEdit()->setToolTip(
        tr("wss: accept exactly this certificate although it cannot be verified (a "
           "self-signed test server), as wsw probe --accept-fingerprint"));
    m_targetNote->setWordWrap(true);
    m_targetNote->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_categories->setColumnCount(2);
    m_categories->setHeaderLabels({tr("Category"), tr("Cases")});
    m_categories->setUniformRowHeights(true);
    m_categories->header()->setStretchLastSection(false);
    m_categories->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_categories->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    m_categories->setMinimumHeight(fontMetrics().height() * 5);
    buildCategoryTree();
    m_cases->setPlaceholderText(tr("all checked, or patterns: 1.*,6.4.*"));
    m_cases->setToolTip(tr("Narrows the checked categories to these case ids, as wsw probe "
                           "--cases: comma-separated patterns where * matches anything"));
    m_exclude->setPlaceholderText(tr("none, or patterns: 9.*,12.*"));
    m_exclude->setToolTip(tr("Leaves these case ids out, as wsw probe --exclude"));
    m_run->setObjectName(QStringLiteral("probeRun"));
    m_run->setDefault(true);
    m_stop->setObjectName(QStringLiteral("probeStop"));
    m_progress->setTextVisible(false);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progressText->setObjectName(QStringLiteral("probeProgress"));
    m_status->setWordWrap(true);
    m_status->setObjectName(QStringLiteral("probeStatus"));

    auto *form = m_form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->addRow(tr("Target:"), m_targetKind);
    form->addRow(tr("URL:"), m_url);
    form->addRow(m_trust);
    form->addRow(tr("Port:"), m_clientsPort);
    form->addRow(m_targetNote);
    auto *patterns = new QFormLayout;
    patterns->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    patterns->addRow(tr("Cases:"), m_cases);
    patterns->addRow(tr("Exclude:"), m_exclude);
    auto *buttons = new QHBoxLayout;
    buttons->addWidget(m_run);
    buttons->addWidget(m_stop);
    buttons->addWidget(m_progress, 1);
    auto *config = new QWidget(this);
    auto *configLayout = new QVBoxLayout(config);
    configLayout->setContentsMargins(0, 0, 0, 0);
    configLayout->addLayout(form);
    configLayout->addWidget(m_categories, 1);
    configLayout->addLayout(patterns);
    configLayout->addWidget(m_selection);
    configLayout->addLayout(buttons);
    configLayout->addWidget(m_progressText);
    configLayout->addWidget(m_status);
    // Reports: the results side is kept for the table.
    auto *reportRow = new QHBoxLayout;
    reportRow->addWidget(m_openReport);
    reportRow->addWidget(m_saveReport);
    reportRow->addStretch(1);
    configLayout->addLayout(reportRow);

    // Results: which run, filters, the table and the counts.
    m_runCombo->setObjectName(QStringLiteral("probeRunCombo"));
    m_runCombo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_runCombo->setMinimumContentsLength(8);
    m_runCombo->setToolTip(tr("The run the table shows: this window's runs and opened reports"));
    m_verdict->addItem(tr("All verdicts"), int(ProbeResultsProxy::VerdictFilter::All));
    m_verdict->addItem(tr("Failures"), int(ProbeResultsProxy::VerdictFilter::Failures));
    m_verdict->addItem(tr("Not OK"), int(ProbeResultsProxy::VerdictFilter::NotOk));
    for (const Verdict verdict : probe::allVerdicts()) {
        m_verdict->addItem(probe::verdictName(verdict),
                           int(ProbeResultsProxy::VerdictFilter::Only) + 16 * int(verdict));
        m_verdict->setItemData(m_verdict->count() - 1, verdictBackground(verdict),
                               Qt::DecorationRole);
    }
    m_verdict->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_verdict->setMinimumContentsLength(6);
    m_verdict->setToolTip(tr("Failures: FAILED, or a close FAILED, WRONG CODE or UNCLEAN (what "
                             "makes wsw probe exit with 3). A verdict: the verdict or the close "
                             "verdict is that one."));
    m_filter->setPlaceholderText(tr("Filter: id or text"));
    m_filter->setClearButtonEnabled(true);
    m_proxy->setSourceModel(m_model);
    m_view->setObjectName(QStringLiteral("probeResults"));
    m_view->setModel(m_proxy);
    setUpTable(m_view);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(ProbeResultsModel::IdColumn, Qt::AscendingOrder);
    QHeaderView *header = m_view->horizontalHeader();
    header->setSectionResizeMode(ProbeResultsModel::DescriptionColumn, QHeaderView::Stretch);
    // Wide enough for all but the rare FAILED BY CLIENT, which is elided (its tooltip
    // says it whole).
    const int verdictWidth = fontMetrics().horizontalAdvance(QStringLiteral("INFORMATIONAL")) +
                             fontMetrics().averageCharWidth() * 2;
    header->resizeSection(ProbeResultsModel::IdColumn,
                          fontMetrics().horizontalAdvance(QStringLiteral("13.7.18 ")) +
                              fontMetrics().averageCharWidth() * 3);
    header->resizeSection(ProbeResultsModel::BehaviorColumn, verdictWidth);
    header->resizeSection(ProbeResultsModel::CloseColumn, verdictWidth);
    header->resizeSection(ProbeResultsModel::DurationColumn,
                          fontMetrics().horizontalAdvance(QStringLiteral("Duration 0000")));
    m_view->setToolTip(tr("Double-click a case to see its frames in the log and the inspector"));
    m_summary->setObjectName(QStringLiteral("probeSummary"));
    m_summary->setTextFormat(Qt::RichText);
    m_summary->setWordWrap(true);
    // Kept narrow: on a small screen the dock shares the width under the log.
    auto *filterRow = new QHBoxLayout;
    filterRow->addWidget(m_runCombo, 3);
    filterRow->addWidget(m_verdict, 2);
    filterRow->addWidget(m_filter, 2);
    auto *resultsPage = new QWidget(this);
    auto *resultsLayout = new QVBoxLayout(resultsPage);
    resultsLayout->setContentsMargins(4, 4, 4, 4);
    resultsLayout->addLayout(filterRow);
    resultsLayout->addWidget(m_view, 1);
    resultsLayout->addWidget(m_summary);

    // Compare: two runs, the cases that changed.
    for (QComboBox *combo : {m_compareOld, m_compareNew}) {
        combo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        combo->setMinimumContentsLength(8);
    }
    m_comparisonView->setObjectName(QStringLiteral("probeComparison"));
    m_comparisonView->setModel(m_comparison);
    setUpTable(m_comparisonView);
    QHeaderView *comparisonHeader = m_comparisonView->horizontalHeader();
    comparisonHeader->setSectionResizeMode(ProbeComparisonModel::DescriptionColumn,
                                           QHeaderView::Stretch);
    comparisonHeader->resizeSection(ProbeComparisonModel::IdColumn,
                                    header->sectionSize(ProbeResultsModel::IdColumn));
    comparisonHeader->resizeSection(ProbeComparisonModel::BehaviorColumn, verdictWidth * 9 / 5);
    comparisonHeader->resizeSection(ProbeComparisonModel::CloseColumn, verdictWidth * 9 / 5);
    m_comparisonSummary->setObjectName(QStringLiteral("probeComparisonSummary"));
    m_comparisonSummary->setWordWrap(true);
    auto *compareRow = new QHBoxLayout;
    compareRow->addWidget(new QLabel(tr("Old:"), this));
    compareRow->addWidget(m_compareOld, 1);
    compareRow->addWidget(new QLabel(tr("New:"), this));
    compareRow->addWidget(m_compareNew, 1);
    auto *comparePage = new QWidget(this);
    auto *compareLayout = new QVBoxLayout(comparePage);
    compareLayout->setContentsMargins(4, 4, 4, 4);
    compareLayout->addLayout(compareRow);
    compareLayout->addWidget(m_comparisonView, 1);
    compareLayout->addWidget(m_comparisonSummary);

    m_tabs->addTab(resultsPage, tr("Results"));
    m_tabs->addTab(comparePage, tr("Compare runs"));
    m_targetKind->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_targetKind->setMinimumContentsLength(8);
    m_categories->setMinimumWidth(fontMetrics().averageCharWidth() * 18);
    // The form scrolls in a short or narrow dock rather than pushing the window wider.
    auto *configScroll = new QScrollArea(this);
    configScroll->setWidget(config);
    configScroll->setWidgetResizable(true);
    configScroll->setFrameShape(QFrame::NoFrame);
    configScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    m_splitter->addWidget(configScroll);
    m_splitter->addWidget(m_tabs);
    m_splitter->setSizes({config->sizeHint().width(), fontMetrics().averageCharWidth() * 120});
    m_splitter->setStretchFactor(0, 0);
    m_splitter->setStretchFactor(1, 1);
    // The form folds away to the left when the results need the room.
    m_splitter->setCollapsible(0, true);
    m_splitter->setCollapsible(1, false);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_splitter);

    m_tick.setInterval(TickMs);
    connect(&m_tick, &QTimer::timeout, this, &ProbePanel::flushResults);
    connect(m_targetKind, &QComboBox::currentIndexChanged, this, &ProbePanel::updateForm);
    connect(m_categories, &QTreeWidget::itemChanged, this, [this] {
        if (!m_building)
            updateSelectionCount();
    });
    connect(m_cases, &QLineEdit::textChanged, this, &ProbePanel::updateSelectionCount);
    connect(m_exclude, &QLineEdit::textChanged, this, &ProbePanel::updateSelectionCount);
    connect(m_run, &QPushButton::clicked, this, &ProbePanel::run);
    connect(m_stop, &QPushButton::clicked, this, &ProbePanel::stop);
    connect(m_runCombo, &QComboBox::activated, this, &ProbePanel::showRun);
    connect(m_verdict, &QComboBox::currentIndexChanged, this, &ProbePanel::applyVerdictFilter);
    connect(m_filter, &QLineEdit::textChanged, m_proxy, &ProbeResultsProxy::setText);
    connect(m_view, &QTableView::doubleClicked, this, [this](const QModelIndex &index) {
        QString error;
        if (!showCaseInLog(m_proxy->mapToSource(index).row(), &error))
            setStatus(error);
    });
    const auto compareChosen = [this] {
        if (m_compareOld->currentIndex() >= 0 && m_compareNew->currentIndex() >= 0)
            compareRuns(m_compareOld->currentIndex(), m_compareNew->currentIndex());
    };
    connect(m_compareOld, &QComboBox::activated, this, compareChosen);
    connect(m_compareNew, &QComboBox::activated, this, compareChosen);
    connect(m_openReport, &QPushButton::clicked, this, [this] {
        const QString directory = QFileDialog::getExistingDirectory(
            this, tr("Open a probe report (the folder with index.json)"));
        QString error;
        if (!directory.isEmpty() && !openReport(directory, &error))
            setStatus(error);
    });
    connect(m_saveReport, &QPushButton::clicked, this, [this] {
        const QString directory =
            QFileDialog::getExistingDirectory(this, tr("Save the probe report into"));
        QString error;
        if (directory.isEmpty())
            return;
        if (saveReport(directory, &error))
            setStatus(tr("Report written to %1").arg(directory));
        else
            setStatus(error);
    });

    loadSettings();
    updateForm();
    updateSummary();
    updateRunCombos();
}

ProbePanel::~ProbePanel() {
    saveSettings();
    // The runner's last signals must not reach a half-destroyed panel.
    if (m_runner)
        m_runner->disconnect(this);
    if (m_clientsServer)
        m_clientsServer->disconnect(this);
}

void ProbePanel::buildCategoryTree() {
    m_building = true;
    m_categories->clear();
    // Category -> group ("6.4") -> case ids, in catalogue order.
    QList<QString> categories;
    QHash<QString, QList<QString>> groupsOf;
    QHash<QString, QStringList> idsOf;
    for (const probe::ProbeCase &c : m_catalogue) {
        const QStringList parts = c.id.split(u'.');
        const QString category = parts.constFirst();
        const QString group = parts.size() > 2 ? parts.mid(0, 2).join(u'.') : c.id;
        if (!groupsOf.contains(category))
            categories.append(category);
        QList<QString> &groups = groupsOf[category];
        if (!groups.contains(group))
            groups.append(group);
        idsOf[group].append(c.id);
    }
    for (const QString &category : std::as_const(categories)) {
        const QList<QString> &groups = groupsOf.value(category);
        const QString name = categoryName(category);
        auto *top = new QTreeWidgetItem(m_categories);
        top->setText(0, name.isEmpty() ? category : QStringLiteral("%1 %2").arg(category, name));
        top->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable | Qt::ItemIsAutoTristate);
        top->setCheckState(0, Qt::Checked);
        int count = 0;
        // A category whose cases are all of the form "2.5" has no groups to choose.
        const bool flat = std::all_of(groups.begin(), groups.end(), [&](const QString &group) {
            return idsOf.value(group).size() == 1 && idsOf.value(group).constFirst() == group;
        });
        if (flat) {
            QStringList ids;
            for (const QString &group : groups)
                ids += idsOf.value(group);
            top->setData(0, PatternRole, category + QStringLiteral(".*"));
            top->setData(0, IdsRole, ids);
            count = int(ids.size());
        } else {
            for (const QString &group : groups) {
                const QStringList ids = idsOf.value(group);
                auto *item = new QTreeWidgetItem(top);
                item->setText(0, group);
                item->setText(1, QString::number(ids.size()));
                item->setTextAlignment(1, Qt::AlignRight | Qt::AlignVCenter);
                item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
                item->setCheckState(0, Qt::Checked);
                const bool single = ids.size() == 1 && ids.constFirst() == group;
                item->setData(0, PatternRole, single ? group : group + QStringLiteral(".*"));
                item->setData(0, IdsRole, ids);
                count += int(ids.size());
            }
        }
        top->setText(1, QString::number(count));
        top->setTextAlignment(1, Qt::AlignRight | Qt::AlignVCenter);
    }
    m_building = false;
}

void ProbePanel::setCheckedCategories(const QStringList &patterns) {
    m_building = true;
    for (int i = 0; i < m_categories->topLevelItemCount(); ++i) {
        QTreeWidgetItem *top = m_categories->topLevelItem(i);
        if (top->childCount() == 0) {
            top->setCheckState(0, patterns.contains(top->data(0, PatternRole).toString())
                                      ? Qt::Checked
                                      : Qt::Unchecked);
            continue;
        }
        for (int j = 0; j < top->childCount(); ++j) {
            QTreeWidgetItem *item = top->child(j);
            // "6.*" checks every group of category 6.
            const bool checked =
                patterns.contains(item->data(0, PatternRole).toString()) ||
                patterns.contains(top->text(0).section(u' ', 0, 0) + QStringLiteral(".*"));
            item->setCheckState(0, checked ? Qt::Checked : Qt::Unchecked);
        }
    }
    m_building = false;
    updateSelectionCount();
}

QStringList ProbePanel::checkedCategories() const {
    QStringList patterns;
    for (int i = 0; i < m_categories->topLevelItemCount(); ++i) {
        QTreeWidgetItem *top = m_categories->topLevelItem(i);
        if (top->childCount() == 0 || top->checkState(0) == Qt::Checked) {
            if (top->checkState(0) == Qt::Checked)
                patterns.append(top->childCount() == 0
                                    ? top->data(0, PatternRole).toString()
                                    : top->text(0).section(u' ', 0, 0) + QStringLiteral(".*"));
            continue;
        }
        for (int j = 0; j < top->childCount(); ++j) {
            if (top->child(j)->checkState(0) == Qt::Checked)
                patterns.append(top->child(j)->data(0, PatternRole).toString());
        }
    }
    return patterns;
}

QList<probe::ProbeCase> ProbePanel::selectedCases() const {
    QSet<QString> checked;
    for (QTreeWidgetItemIterator it(m_categories); *it; ++it) {
        if ((*it)->childCount() == 0 && (*it)->checkState(0) == Qt::Checked) {
            for (const QString &id : (*it)->data(0, IdsRole).toStringList())
                checked.insert(id);
        }
    }
    QList<probe::ProbeCase> chosen;
    for (const probe::ProbeCase &c : m_catalogue) {
        if (checked.contains(c.id))
            chosen.append(c);
    }
    return probe::selectCases(chosen, patternList(m_cases->text()), patternList(m_exclude->text()));
}

void ProbePanel::updateSelectionCount() {
    if (TargetKind(m_targetKind->currentData().toInt()) == TargetKind::Clients) {
        m_selection->setText(tr("The clients choose among Autobahn's cases 1 to 10."));
        return;
    }
    const qsizetype count = selectedCases().size();
    m_selection->setText(tr("%n case(s) selected", nullptr, int(count)));
    m_run->setEnabled(!isRunning() && count > 0);
}

void ProbePanel::updateForm() {
    const auto kind = TargetKind(m_targetKind->currentData().toInt());
    const bool running = isRunning();
    m_form->setRowVisible(m_url, kind == TargetKind::Url);
    m_form->setRowVisible(m_clientsPort, kind == TargetKind::Clients);
    // The hosted server's certificate is the window's own: it needs no trust set here.
    m_form->setRowVisible(m_trust, kind == TargetKind::Url);
    switch (kind) {
    case TargetKind::Url:
        m_targetNote->setText(tr("A server's echo endpoint (ws:// or wss://)."));
        break;
    case TargetKind::HostedServer: {
        const quint16 port = m_server && m_server->isRunning() ? m_server->boundPort() : 0;
        const bool secure = m_server && m_server->isRunning() &&
                            m_hub->server(m_server->serverId()) &&
                            m_hub->server(m_server->serverId())->options().isSecure();
        m_targetNote->setText(port ? tr("The server panel's server: %1://127.0.0.1:%2/")
                                         .arg(secure ? QLatin1String("wss") : QLatin1String("ws"))
                                         .arg(port)
                                   : tr("The server panel's server, started in echo mode when "
                                        "it is not running."));
        break;
    }
    case TargetKind::Clients:
        m_targetNote->setText(
            clientsPort() ? tr("Clients run cases at ws://127.0.0.1:%1/runCase?case=N&agent=NAME "
                               "(count: /getCaseCount).")
                                .arg(clientsPort())
                          : tr("Autobahn's fuzzingserver URLs: /getCaseCount, /getCaseInfo?case=N, "
                               "/runCase?case=N&agent=NAME, /updateReports."));
        break;
    }
    m_categories->setEnabled(kind != TargetKind::Clients && !running);
    m_cases->setEnabled(kind != TargetKind::Clients && !running);
    m_exclude->setEnabled(kind != TargetKind::Clients && !running);
    m_targetKind->setEnabled(!running);
    m_url->setEnabled(!running);
    m_trust->setEnabled(!running);
    m_clientsPort->setEnabled(!running);
    m_stop->setEnabled(running);
    m_openReport->setEnabled(!running);
    updateSelectionCount();
    if (kind == TargetKind::Clients)
        m_run->setEnabled(!running);
    m_run->setText(kind == TargetKind::Clients ? tr("Listen") : tr("Run"));
}

bool ProbePanel::isRunning() const {
    return (m_runner && m_runner->isRunning()) || m_clientsServer;
}

quint16 ProbePanel::clientsPort() const {
    return m_clientsServer ? m_clientsServer->port() : 0;
}

QString ProbePanel::hostedServerUrl(QString *error, QByteArray *fingerprint) const {
    if (!m_server) {
        *error = tr("This window hosts no server panel.");
        return {};
    }
    if (!m_server->isRunning()) {
        const int echo = m_server->modeCombo()->findData(int(ServerOptions::Mode::Echo));
        m_server->modeCombo()->setCurrentIndex(echo);
        if (!m_server->start()) {
            *error = tr("The hosted server did not start: %1").arg(m_server->statusLabel()->text());
            return {};
        }
    }
    const Server *server = m_hub->server(m_server->serverId());
    if (!server || server->options().mode != ServerOptions::Mode::Echo) {
        *error = tr("The hosted server must be in echo mode: stop it and start it as an echo "
                    "server.");
        return {};
    }
    if (server->options().isSecure()) {
        // Our own certificate, often self-signed: accepted by its SHA-256 as `wsw probe
        // --accept-fingerprint` would, whatever the system trusts.
        *fingerprint = parseFingerprint(sha256Fingerprint(server->options().tlsCertificate));
        return QStringLiteral("wss://127.0.0.1:%1/").arg(m_server->boundPort());
    }
    return QStringLiteral("ws://127.0.0.1:%1/").arg(m_server->boundPort());
}

bool ProbePanel::readTrust(probe::RunOptions &options, QString *error) const {
    const QStringList problems = m_trust->problems();
    if (!problems.isEmpty()) {
        *error = problems.first();
        return false;
    }
    options.caCertificatesFile = m_trust->caFile();
    options.acceptedFingerprint = m_trust->acceptedFingerprint();
    return true;
}

bool ProbePanel::run() {
    if (isRunning())
        return false;
    saveSettings();
    const auto kind = TargetKind(m_targetKind->currentData().toInt());
    probe::RunOptions options;
    options.waitScale = m_waitScale;
    if (kind == TargetKind::Clients) {
        auto *server = new probe::FuzzingServer(options, QString(), this);
        if (!server->listen(QHostAddress::LocalHost, quint16(m_clientsPort->value()))) {
            setStatus(tr("Cannot listen on port %1: %2")
                          .arg(m_clientsPort->value())
                          .arg(server->errorString()));
            delete server;
            return false;
        }
        m_clientsServer = server;
        m_total = server->caseCount();
        m_stopping = false;
        m_live = -1;
        m_clientsStarted = QDateTime::currentDateTime();
        connect(server, &probe::FuzzingServer::caseFinished, this, &ProbePanel::onClientCase);
        m_elapsed.start();
        m_tick.start();
        setStatus(tr("Listening on ws://127.0.0.1:%1/ for clients").arg(server->port()));
        updateForm();
        updateProgress();
        emit runStarted();
        return true;
    }

    QString error;
    QByteArray hostedFingerprint;
    QString url = kind == TargetKind::HostedServer ? hostedServerUrl(&error, &hostedFingerprint)
                                                   : m_url->text().trimmed();
    if (url.isEmpty()) {
        setStatus(error.isEmpty() ? tr("Enter the URL of a server's echo endpoint.") : error);
        return false;
    }
    const std::optional<WebSocketUrl> target =
        parseWebSocketUrl(QUrl(url, QUrl::StrictMode), &error);
    if (!target) {
        setStatus(error);
        return false;
    }
    if (!target->unixSocketPath.isEmpty()) {
        setStatus(tr("The probe speaks ws:// or wss:// over TCP; %1 is not one.").arg(url));
        return false;
    }
    if (kind == TargetKind::HostedServer) {
        options.acceptedFingerprint = hostedFingerprint;
    } else if (!readTrust(options, &error)) {
        setStatus(error);
        return false;
    }
    const QList<probe::ProbeCase> cases = selectedCases();
    if (cases.isEmpty()) {
        setStatus(tr("No case matches the selection."));
        return false;
    }
    options.target = *target;
    ProbeRun record;
    record.name = tr("run %1: %2").arg(m_runs.size() + 1).arg(url);
    record.agent = QStringLiteral("server");
    record.target = url;
    record.started = QDateTime::currentDateTime();
    m_live = addRun(std::move(record));
    showRun(m_live);
    m_total = cases.size();
    m_stopping = false;
    m_currentCase.clear();
    auto *runner = new probe::ProbeRunner(cases, options, this);
    runner->setKeepLogs(true);
    m_runner = runner;
    connect(runner, &probe::ProbeRunner::caseStarted, this, &ProbePanel::onCaseStarted);
    connect(runner, &probe::ProbeRunner::caseFinished, this,
            [this](qsizetype, const probe::CaseResult &result) { onCaseFinished(result); });
    connect(runner, &probe::ProbeRunner::finished, this, &ProbePanel::onRunFinished);
    m_elapsed.start();
    m_tick.start();
    runner->start();
    setStatus(tr("Probing %1").arg(url));
    updateForm();
    updateProgress();
    emit runStarted();
    return true;
}

void ProbePanel::stop() {
    if (m_clientsServer) {
        // Cases in progress go with the server: their clients see the connection drop.
        delete m_clientsServer.data();
        onRunFinished();
        return;
    }
    if (!m_runner || !m_runner->isRunning())
        return;
    m_stopping = true;
    m_runner->stop();
}

void ProbePanel::onCaseStarted(qsizetype, const QString &id) {
    m_currentCase = id;
}

void ProbePanel::onCaseFinished(const probe::CaseResult &result) {
    // The case that Stop cut short says nothing about the server.
    if (m_stopping || m_live < 0)
        return;
    m_runs[m_live].results.append(result);
    m_runs[m_live].elapsedMs = m_elapsed.elapsed();
    m_currentCase.clear();
    // Nothing answers at all: the remaining cases would only repeat it (as wsw probe).
    if (m_runs.at(m_live).results.size() == 1 && !result.wasOpen &&
        result.failure.startsWith(QLatin1String("Could not connect")) && m_runner) {
        m_unreachable = result.failure;
        m_stopping = true;
        m_runner->stop();
    }
}

void ProbePanel::flushResults() {
    // Cases end every few milliseconds: the table, the counts and the bar follow a few
    // times a second, so that the window does not repaint for each one.
    if (m_live >= 0 && m_shown == m_live) {
        const QList<probe::CaseResult> &results = m_runs.at(m_live).results;
        if (m_model->rowCount() < results.size())
            m_model->append(results.mid(m_model->rowCount()));
    }
    updateProgress();
    updateSummary();
}

void ProbePanel::onClientCase(const QString &agent, const probe::CaseResult &result) {
    int index = -1;
    for (int i = 0; i < m_runs.size(); ++i) {
        if (m_runs.at(i).agent == agent && m_runs.at(i).target == QLatin1String("client") &&
            m_runs.at(i).reportDirectory.isEmpty() && m_runs.at(i).started >= m_clientsStarted)
            index = i;
    }
    if (index < 0) {
        ProbeRun record;
        record.name = tr("run %1: client %2").arg(m_runs.size() + 1).arg(agent);
        record.agent = agent;
        record.target = QStringLiteral("client");
        record.started = QDateTime::currentDateTime();
        index = addRun(std::move(record));
    }
    m_live = index;
    if (m_shown != index)
        showRun(index);
    ProbeRun &run = m_runs[index];
    // A client that runs a case again replaces its earlier result, as the reports do.
    for (qsizetype i = 0; i < run.results.size(); ++i) {
        if (run.results.at(i).id == result.id) {
            run.results.removeAt(i);
            break;
        }
    }
    run.results.append(result);
    std::sort(run.results.begin(), run.results.end(),
              [](const probe::CaseResult &a, const probe::CaseResult &b) {
                  return probe::caseIdLess(a.id, b.id);
              });
    run.elapsedMs = m_elapsed.elapsed();
    m_model->setResults(run.results);
    updateProgress();
    updateSummary();
}

void ProbePanel::onRunFinished() {
    m_tick.stop();
    flushResults();
    const bool stopped = m_stopping || !m_clientsServer.isNull() || m_live < 0 ||
                         (m_runner && m_runs.value(m_live).results.size() < m_total);
    if (m_runner) {
        m_runner->deleteLater();
        m_runner = nullptr;
    }
    if (m_live >= 0) {
        const ProbeRun &run = m_runs.at(m_live);
        int failures = 0;
        for (const probe::CaseResult &r : run.results)
            failures += r.isFailure() ? 1 : 0;
        setStatus((stopped ? tr("Stopped after %n case(s)", nullptr, int(run.results.size()))
                           : tr("%n case(s)", nullptr, int(run.results.size()))) +
                  tr(" in %1, %n failed", nullptr, failures).arg(secondsText(run.elapsedMs)));
        // What changed since the run before, at a glance.
        if (m_live > 0)
            compareRuns(m_live - 1, m_live);
    } else {
        setStatus(tr("Stopped listening"));
    }
    if (!m_unreachable.isEmpty())
        setStatus(m_unreachable);
    m_unreachable.clear();
    m_stopping = false;
    m_currentCase.clear();
    updateForm();
    updateProgress();
    emit runFinished();
}

void ProbePanel::updateProgress() {
    const qsizetype done = m_live >= 0 ? m_runs.at(m_live).results.size() : 0;
    const bool running = isRunning();
    m_progress->setRange(0, int(std::max<qsizetype>(m_total, 1)));
    m_progress->setValue(int(std::min(done, std::max<qsizetype>(m_total, 1))));
    if (m_total == 0 && !running) {
        m_progressText->clear();
        return;
    }
    // Clients' mode: each agent runs the catalogue on its own, so the count is the
    // agent's whose case came last, out of the catalogue, and says whose it is.
    const bool clients = m_clientsServer && m_live >= 0;
    QString text =
        clients ? tr("%1 / %2 cases of %3").arg(done).arg(m_total).arg(m_runs.at(m_live).agent)
                : tr("%1 / %2 cases").arg(done).arg(m_total);
    text += tr(" \u00b7 %1")
                .arg(secondsText(running ? m_elapsed.elapsed()
                                         : (m_live >= 0 ? m_runs.at(m_live).elapsedMs : 0)));
    if (running && !m_currentCase.isEmpty())
        text += tr(" \u00b7 %1").arg(m_currentCase);
    m_progressText->setText(text);
}

void ProbePanel::updateSummary() {
    if (m_model->rowCount() == 0) {
        m_summary->setText(m_shown >= 0 ? tr("No results yet.")
                                        : tr("Run the probe, or open a saved report."));
        return;
    }
    m_summary->setText(tr("<b>%n failed</b> of %1 \u2014 verdicts: %2 \u2014 close: %3", nullptr,
                          m_model->failureCount())
                           .arg(m_model->rowCount())
                           .arg(verdictCountsText(m_model->behaviorCounts()),
                                verdictCountsText(m_model->closeCounts())));
}

void ProbePanel::applyVerdictFilter() {
    // The combo's data: a VerdictFilter, and for Only the verdict times 16 added.
    const int choice = m_verdict->currentData().toInt();
    const auto only = int(ProbeResultsProxy::VerdictFilter::Only);
    if (choice >= only && choice % 16 == only)
        m_proxy->setVerdictFilter(ProbeResultsProxy::VerdictFilter::Only, Verdict(choice / 16));
    else
        m_proxy->setVerdictFilter(ProbeResultsProxy::VerdictFilter(choice));
}

int ProbePanel::addRun(ProbeRun run) {
    m_runs.append(std::move(run));
    updateRunCombos();
    return int(m_runs.size() - 1);
}

void ProbePanel::updateRunCombos() {
    for (QComboBox *combo : {m_runCombo, m_compareOld, m_compareNew}) {
        const int current = combo->currentIndex();
        combo->clear();
        for (const ProbeRun &run : std::as_const(m_runs))
            combo->addItem(run.name);
        combo->setCurrentIndex(std::min(current, int(m_runs.size()) - 1));
    }
    m_runCombo->setCurrentIndex(m_shown);
    m_saveReport->setEnabled(m_shown >= 0);
    m_compareOld->setEnabled(m_runs.size() > 1);
    m_compareNew->setEnabled(m_runs.size() > 1);
}

void ProbePanel::showRun(int index) {
    if (index < 0 || index >= m_runs.size())
        return;
    m_shown = index;
    m_model->setResults(m_runs.at(index).results);
    m_runCombo->setCurrentIndex(index);
    m_saveReport->setEnabled(true);
    updateSummary();
}

void ProbePanel::compareRuns(int oldIndex, int newIndex) {
    if (oldIndex < 0 || newIndex < 0 || oldIndex >= m_runs.size() || newIndex >= m_runs.size())
        return;
    m_compareOld->setCurrentIndex(oldIndex);
    m_compareNew->setCurrentIndex(newIndex);
    m_comparison->compare(m_runs.at(oldIndex), m_runs.at(newIndex));
    const ProbeComparisonModel::Counts &n = m_comparison->counts();
    QStringList parts;
    parts.append(tr("%n case(s) in both runs", nullptr, n.compared));
    parts.append(tr("%n changed", nullptr, n.better + n.worse + n.different));
    if (n.worse)
        parts.append(tr("%n worse", nullptr, n.worse));
    if (n.better)
        parts.append(tr("%n better", nullptr, n.better));
    if (n.onlyOld)
        parts.append(tr("%n only in the old run", nullptr, n.onlyOld));
    if (n.onlyNew)
        parts.append(tr("%n only in the new run", nullptr, n.onlyNew));
    m_comparisonSummary->setText(parts.join(QStringLiteral(", ")));
}

bool ProbePanel::openReport(const QString &directory, QString *error) {
    QList<probe::AgentResults> agents;
    if (!probe::readReport(directory, &agents, error))
        return false;
    if (agents.isEmpty()) {
        if (error)
            *error = tr("%1 holds no results.").arg(directory);
        return false;
    }
    int last = -1;
    for (probe::AgentResults &agent : agents) {
        ProbeRun run;
        run.name = tr("report %1: %2").arg(QDir(directory).dirName(), agent.agent);
        run.agent = agent.agent;
        run.target = agent.agent;
        run.started =
            QFileInfo(QDir(directory).filePath(QStringLiteral("index.json"))).lastModified();
        run.elapsedMs = agent.elapsedMs;
        run.reportDirectory = directory;
        run.results = std::move(agent.results);
        last = addRun(std::move(run));
    }
    showRun(last);
    setStatus(tr("Opened %1").arg(directory));
    return true;
}

bool ProbePanel::saveReport(const QString &directory, QString *error) {
    if (m_shown < 0) {
        if (error)
            *error = tr("There is no run to save.");
        return false;
    }
    const ProbeRun &run = m_runs.at(m_shown);
    const QDir dir(directory);
    for (const probe::CaseResult &r : run.results) {
        if (!probe::writeCaseReport(directory, run.agent, r, error))
            return false;
        // A run read from a report keeps its frames in that report's files.
        if (!r.log && !run.reportDirectory.isEmpty() &&
            QDir(run.reportDirectory).absolutePath() != dir.absolutePath()) {
            QString name = probe::caseReportFileName(run.agent, r.id);
            name.replace(name.size() - 5, 5, QStringLiteral(".jsonl"));
            const QString source = QDir(run.reportDirectory).filePath(name);
            QFile::remove(dir.filePath(name));
            if (QFile::exists(source) && !QFile::copy(source, dir.filePath(name))) {
                if (error)
                    *error = tr("Could not copy %1 to %2").arg(source, directory);
                return false;
            }
        }
    }
    const QList<probe::AgentResults> agents{{run.agent, run.target, run.results, run.elapsedMs}};
    return probe::writeIndexJson(dir.filePath(QStringLiteral("index.json")), agents, error) &&
           probe::writeHtmlReport(dir.filePath(QStringLiteral("index.html")), agents, error) &&
           probe::writeJUnitReport(dir.filePath(QStringLiteral("junit.xml")), agents, error);
}

quint32 ProbePanel::showCaseInLog(int sourceRow, QString *error) {
    const auto fail = [error](const QString &why) {
        if (error)
            *error = why;
        return 0u;
    };
    if (m_shown < 0 || sourceRow < 0 || sourceRow >= m_model->rowCount())
        return fail(tr("No case chosen."));
    const ProbeRun &run = m_runs.at(m_shown);
    const probe::CaseResult &result = m_model->result(sourceRow);
    std::shared_ptr<log::LogStore> frames = result.log;
    if (!frames && !run.reportDirectory.isEmpty()) {
        QString name = probe::caseReportFileName(run.agent, result.id);
        name.replace(name.size() - 5, 5, QStringLiteral(".jsonl"));
        frames = std::make_shared<log::LogStore>();
        QString why;
        if (!log::JsonLinesFile::open(QDir(run.reportDirectory).filePath(name), *frames, &why))
            return fail(tr("The frames of %1 cannot be read: %2").arg(result.id, why));
    }
    if (!frames || frames->isEmpty())
        return fail(tr("Case %1 has no frames to show.").arg(result.id));
    MessageLogModel *log = m_hub->log();
    log->flush();
    const QString name =
        run.agent == QLatin1String("server") || run.target != QLatin1String("client")
            ? tr("probe %1").arg(result.id)
            : tr("probe %1 (%2)").arg(result.id, run.agent);
    const quint32 id = m_hub->addArchived({name, run.target});
    qsizetype first = -1;
    qsizetype firstFrame = -1;
    for (qsizetype i = 0; i < frames->size(); ++i) {
        log::LogRecord record = frames->at(i);
        record.connection = id;
        const log::LogRecordExtra *extra = frames->extra(i);
        log->appendRecord(record, extra ? *extra : log::LogRecordExtra{});
        const qsizetype index = log->store().size() - 1;
        if (first < 0)
            first = index;
        if (firstFrame < 0 && record.isFrame())
            firstFrame = index;
    }
    log->flush();
    emit caseShown(id, firstFrame >= 0 ? firstFrame : first);
    return id;
}

void ProbePanel::setStatus(const QString &text) {
    m_status->setText(text);
    if (!text.isEmpty())
        emit statusMessage(text);
}

void ProbePanel::loadSettings() {
    const QSettings settings;
    const int kind =
        m_targetKind->findData(settings.value(TargetKey, int(TargetKind::Url)).toInt());
    m_targetKind->setCurrentIndex(std::max(kind, 0));
    m_url->setText(settings.value(UrlKey).toString());
    m_trust->loadSettings(settings, CaFileKey, FingerprintKey);
    m_clientsPort->setValue(settings.value(ClientsPortKey, DefaultClientsPort).toInt());
    if (settings.contains(CategoriesKey))
        setCheckedCategories(settings.value(CategoriesKey).toStringList());
    m_cases->setText(settings.value(CasesKey).toString());
    m_exclude->setText(settings.value(ExcludeKey).toString());
    const int verdict = m_verdict->findData(settings.value(VerdictFilterKey, 0).toInt());
    m_verdict->setCurrentIndex(std::max(verdict, 0));
    m_splitter->restoreState(settings.value(SplitterKey).toByteArray());
}

void ProbePanel::saveSettings() const {
    QSettings settings;
    settings.setValue(TargetKey, m_targetKind->currentData().toInt());
    settings.setValue(UrlKey, m_url->text());
    m_trust->saveSettings(settings, CaFileKey, FingerprintKey);
    settings.setValue(ClientsPortKey, m_clientsPort->value());
    settings.setValue(CategoriesKey, checkedCategories());
    settings.setValue(CasesKey, m_cases->text());
    settings.setValue(ExcludeKey, m_exclude->text());
    settings.setValue(VerdictFilterKey, m_verdict->currentData().toInt());
    settings.setValue(SplitterKey, m_splitter->saveState());
}

} // namespace ws
