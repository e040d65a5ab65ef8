#include "windows/sessiondiffwindow.h"

#include "models/sessiondiffmodel.h"

#include <QAction>
#include <QCheckBox>
#include <QDateTime>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

namespace ws {

namespace {

// A payload for the detail pane: indented JSON, text, or hex for binary.
QString payloadText(const log::SessionMessage &message) {
    if (const std::optional<QJsonValue> json = log::payloadJson(message)) {
        const QJsonDocument document =
            json->isObject() ? QJsonDocument(json->toObject()) : QJsonDocument(json->toArray());
        return QString::fromUtf8(document.toJson(QJsonDocument::Indented)).trimmed();
    }
    if (message.kind == log::LogKind::Text)
        return QString::fromUtf8(message.payload);
    if (message.kind == log::LogKind::Close)
        return log::messagePreview(message, 1000);
    return QString::fromLatin1(message.payload.toHex(' '));
}

QString describeMessage(const QString &side, qsizetype index, const log::SessionMessage &message) {
    return SessionDiffWindow::tr("%1 message %2, %3 %4:\n%5")
        .arg(side)
        .arg(index + 1)
        .arg(message.direction == Direction::Outgoing ? SessionDiffWindow::tr("sent")
                                                      : SessionDiffWindow::tr("received"))
        .arg(QLatin1String(log::logKindName(message.kind)))
        .arg(payloadText(message));
}

} // namespace

SessionDiffWindow::SessionDiffWindow(QWidget *parent)
    : QWidget(parent, Qt::Window)
    , m_model(new SessionDiffModel(this)) {
    setWindowTitle(tr("Compare sessions"));
    setObjectName(QStringLiteral("sessionDiffWindow"));

    const auto fileRow = [this](QLineEdit *&edit, const QString &name) {
        auto *row = new QHBoxLayout;
        edit = new QLineEdit(this);
        edit->setObjectName(name);
        edit->setPlaceholderText(tr("A log saved by the window or by wsw --save (.jsonl)"));
        auto *browseButton = new QToolButton(this);
        browseButton->setText(tr("\u2026"));
        browseButton->setToolTip(tr("Choose the log"));
        QLineEdit *target = edit;
        connect(browseButton, &QToolButton::clicked, this, [this, target] { browse(target); });
        connect(edit, &QLineEdit::returnPressed, this, &SessionDiffWindow::compare);
        row->addWidget(edit, 1);
        row->addWidget(browseButton);
        return row;
    };

    m_ignore = new QLineEdit(this);
    m_ignore->setObjectName(QStringLiteral("ignorePaths"));
    m_ignore->setPlaceholderText(
        tr("JSON paths to leave out, e.g. $.ts $..requestId $.items[*].id"));
    m_ignore->setClearButtonEnabled(true);
    connect(m_ignore, &QLineEdit::returnPressed, this, &SessionDiffWindow::compare);

    m_control = new QCheckBox(tr("Pings, pongs and closes"), this);
    m_control->setToolTip(tr("Compare control frames too (close code and reason)"));
    m_timing = new QSpinBox(this);
    m_timing->setRange(-1, 3'600'000);
    m_timing->setValue(-1);
    m_timing->setSpecialValueText(tr("not compared"));
    m_timing->setSuffix(tr(" ms"));
    m_timing->setToolTip(tr("Report a message whose gap to the previous one differs by more "
                            "than this between A and B"));
    m_compareButton = new QPushButton(tr("Compare"), this);
    m_compareButton->setDefault(true);
    connect(m_compareButton, &QPushButton::clicked, this, &SessionDiffWindow::compare);

    auto *options = new QHBoxLayout;
    options->addWidget(m_control);
    options->addSpacing(12);
    options->addWidget(new QLabel(tr("Timing threshold:"), this));
    options->addWidget(m_timing);
    options->addStretch(1);
    options->addWidget(m_compareButton);

    auto *form = new QFormLayout;
    form->addRow(tr("Session A:"), fileRow(m_fileA, QStringLiteral("fileA")));
    form->addRow(tr("Session B:"), fileRow(m_fileB, QStringLiteral("fileB")));
    form->addRow(tr("&Ignore:"), m_ignore);
    form->addRow(options);

    m_previous = new QAction(tr("Previous difference"), this);
    m_previous->setShortcut(QKeySequence(Qt::SHIFT | Qt::Key_F8));
    m_next = new QAction(tr("Next difference"), this);
    m_next->setShortcut(QKeySequence(Qt::Key_F8));
    for (QAction *action : {m_previous, m_next}) {
        action->setShortcutContext(Qt::WindowShortcut);
        addAction(action);
    }
    connect(m_previous, &QAction::triggered, this, [this] { goToDifference(false); });
    connect(m_next, &QAction::triggered, this, [this] { goToDifference(true); });
    auto *previousButton = new QToolButton(this);
    previousButton->setDefaultAction(m_previous);
    auto *nextButton = new QToolButton(this);
    nextButton->setDefaultAction(m_next);
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("summary"));
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_sources = new QLabel(this);
    m_sources->setObjectName(QStringLiteral("sources"));
    m_sources->setTextFormat(Qt::PlainText);
    m_sources->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *navigation = new QHBoxLayout;
    navigation->addWidget(m_summary, 1);
    navigation->addWidget(previousButton);
    navigation->addWidget(nextButton);

    m_table = new QTableView(this);
    m_table->setModel(m_model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setWordWrap(false);
    m_table->setAlternatingRowColors(false);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
    m_table->horizontalHeader()->setSectionResizeMode(SessionDiffModel::ColumnA,
                                                      QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(SessionDiffModel::ColumnB,
                                                      QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(SessionDiffModel::ColumnMessageA,
                                                      QHeaderView::Stretch);
    m_table->horizontalHeader()->setSectionResizeMode(SessionDiffModel::ColumnMessageB,
                                                      QHeaderView::Stretch);
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &SessionDiffWindow::showDetail);

    m_detail = new QPlainTextEdit(this);
    m_detail->setObjectName(QStringLiteral("diffDetail"));
    m_detail->setReadOnly(true);
    m_detail->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));

    auto *splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(m_table);
    splitter->addWidget(m_detail);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 1);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(navigation);
    layout->addWidget(m_sources);
    layout->addWidget(splitter, 1);
    resize(1100, 700);
    updateNavigation();
}

SessionDiffWindow::~SessionDiffWindow() = default;

void SessionDiffWindow::setFiles(const QString &a, const QString &b) {
    m_fileA->setText(a);
    m_fileB->setText(b);
    setWindowTitle(tr("Compare %1 and %2").arg(QFileInfo(a).fileName(), QFileInfo(b).fileName()));
}

bool SessionDiffWindow::setConnections(const log::LogStore &store, quint32 a, quint32 b) {
    const auto extract = [&](quint32 id, std::optional<Given> &given, QLineEdit *edit) {
        Given sides;
        log::SessionSelection selection;
        selection.connection = id;
        QString error;
        if (!log::extractSession(store, selection, &sides.messages, &error)) {
            showError(error);
            return false;
        }
        selection.includeControl = true;
        log::extractSession(store, selection, &sides.withControl);
        edit->setText(sides.messages.connectionName.isEmpty() ? tr("connection %1").arg(id)
                                                              : sides.messages.connectionName);
        edit->setReadOnly(true);
        given = std::move(sides);
        return true;
    };
    if (!extract(a, m_givenA, m_fileA) || !extract(b, m_givenB, m_fileB))
        return false;
    setWindowTitle(tr("Compare %1 and %2").arg(m_fileA->text(), m_fileB->text()));
    return true;
}

void SessionDiffWindow::setIgnorePaths(const QStringList &paths) {
    m_ignore->setText(paths.join(QLatin1Char(' ')));
}

QStringList SessionDiffWindow::ignorePaths() const {
    return splitPaths(m_ignore->text());
}

QStringList SessionDiffWindow::splitPaths(const QString &text) {
    QStringList paths;
    QString current;
    int depth = 0;
    QChar quote;
    for (const QChar c : text) {
        if (!quote.isNull()) {
            if (c == quote)
                quote = QChar();
        } else if (c == QLatin1Char('\'') || c == QLatin1Char('"')) {
            quote = c;
        } else if (c == QLatin1Char('[')) {
            ++depth;
        } else if (c == QLatin1Char(']')) {
            depth = std::max(0, depth - 1);
        } else if (depth == 0 && (c.isSpace() || c == QLatin1Char(','))) {
            if (!current.isEmpty())
                paths << current;
            current.clear();
            continue;
        }
        current += c;
    }
    if (!current.isEmpty())
        paths << current;
    return paths;
}

int SessionDiffWindow::currentRow() const {
    const QModelIndex current = m_table->currentIndex();
    return current.isValid() ? current.row() : -1;
}

bool SessionDiffWindow::compare() {
    log::SessionDiffOptions options;
    for (const QString &text : ignorePaths()) {
        QString error;
        const std::optional<log::JsonPath> path = log::JsonPath::parse(text, &error);
        if (!path) {
            showError(error);
            return false;
        }
        options.ignore.append(*path);
    }
    if (m_timing->value() >= 0)
        options.timingThresholdUs = qint64(m_timing->value()) * 1000;

    const bool control = m_control->isChecked();
    const auto load = [&](QLineEdit *edit, std::optional<Loaded> &cache, QString *error) {
        // Connections of the window's own log: taken when they were given.
        const std::optional<Given> &given = edit == m_fileA ? m_givenA : m_givenB;
        if (given) {
            cache = Loaded{{}, control, {}, 0, control ? given->withControl : given->messages};
            return true;
        }
        const QString path = edit->text().trimmed();
        if (path.isEmpty()) {
            *error = tr("Choose the two logs to compare.");
            return false;
        }
        // A file read before is read again only when it or what is taken of it changed.
        const QFileInfo info(path);
        if (cache && cache->path == path && cache->control == control &&
            cache->modified == info.lastModified() && cache->size == info.size())
            return true;
        Loaded loaded{path, control, info.lastModified(), info.size(), {}};
        log::SessionSelection selection;
        selection.includeControl = control;
        if (!log::loadSession(path, selection, &loaded.session, error))
            return false;
        cache = std::move(loaded);
        return true;
    };
    QString error;
    if (!load(m_fileA, m_loadedA, &error) || !load(m_fileB, m_loadedB, &error)) {
        showError(error);
        return false;
    }

    log::SessionDiffResult result =
        log::diffSessions(m_loadedA->session, m_loadedB->session, options);
    m_error.clear();
    QString summary =
        tr("<b>%1</b>: %2")
            .arg(result.isSame() ? tr("Same") : tr("Different"), result.summary().toHtmlEscaped());
    m_summary->setText(summary);
    // Which connection of each file was taken: a file may hold several.
    m_sources->setText(
        tr("A: %1\nB: %2").arg(m_loadedA->session.description(), m_loadedB->session.description()));
    m_summary->setStyleSheet(QString());
    m_model->setDiff(m_loadedA->session, m_loadedB->session, std::move(result));
    const int first = m_model->nextDifference(-1, true);
    if (first >= 0 || m_model->rowCount() > 0) {
        const int row = first >= 0 ? first : 0;
        m_table->setCurrentIndex(m_model->index(row, SessionDiffModel::ColumnMessageA));
        m_table->scrollTo(m_model->index(row, 0), QAbstractItemView::PositionAtCenter);
    }
    showDetail();
    updateNavigation();
    return true;
}

void SessionDiffWindow::browse(QLineEdit *edit) {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Choose a log"), edit->text(),
        tr("Logs (*.jsonl *.har);;JSON Lines (*.jsonl);;HAR (*.har);;All files (*)"));
    if (!path.isEmpty()) {
        edit->setText(path);
        if (!m_fileA->text().isEmpty() && !m_fileB->text().isEmpty())
            compare();
    }
}

void SessionDiffWindow::goToDifference(bool forward) {
    const int row = m_model->nextDifference(currentRow(), forward);
    if (row < 0)
        return;
    m_table->setCurrentIndex(m_model->index(row, SessionDiffModel::ColumnMessageA));
    m_table->scrollTo(m_model->index(row, 0));
}

void SessionDiffWindow::showDetail() {
    const int row = currentRow();
    if (row < 0 || row >= m_model->rowCount()) {
        m_detail->clear();
        updateNavigation();
        return;
    }
    const log::DiffPair &pair = m_model->pairAt(row);
    QStringList parts;
    parts << m_model->rowDescription(row);
    if (pair.kind == log::DiffKind::Changed && !pair.paths.isEmpty())
        parts << tr("Paths that differ:\n  %1").arg(pair.paths.join(QLatin1String("\n  ")));
    if (pair.a >= 0)
        parts << describeMessage(tr("A"), pair.a, m_model->sessionA().messages.at(pair.a));
    if (pair.b >= 0 && !(pair.kind == log::DiffKind::Equal && pair.a >= 0))
        parts << describeMessage(tr("B"), pair.b, m_model->sessionB().messages.at(pair.b));
    m_detail->setPlainText(parts.join(QLatin1String("\n\n")));
    updateNavigation();
}

void SessionDiffWindow::showError(const QString &error) {
    m_error = error;
    m_summary->setText(error.toHtmlEscaped());
    m_summary->setStyleSheet(QStringLiteral("color: #c62828;"));
    m_sources->clear();
    m_model->clear();
    m_loadedA.reset();
    m_loadedB.reset();
    m_detail->clear();
    updateNavigation();
}

void SessionDiffWindow::updateNavigation() {
    const int row = currentRow();
    m_next->setEnabled(m_model->nextDifference(row, true) >= 0);
    m_previous->setEnabled(row >= 0 && m_model->nextDifference(row, false) >= 0);
}

} // namespace ws
