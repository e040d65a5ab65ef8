#include "logpanel.h"

#include "models/logfilterproxy.h"
#include "models/messagelogmodel.h"
#include "widgets/displayfilteredit.h"
#include "widgets/messagelogview.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QClipboard>
#include <QFile>
#include <QFileDialog>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QMenu>
#include <QMetaEnum>
#include <QSaveFile>
#include <QSettings>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

namespace ws {

namespace {

const QString TimeFormatKey = QStringLiteral("log/timeFormat");

const log::LogKind AllKinds[] = {
    log::LogKind::Text, log::LogKind::Binary,    log::LogKind::Continuation, log::LogKind::Ping,
    log::LogKind::Pong, log::LogKind::Close,     log::LogKind::Reserved,     log::LogKind::Error,
    log::LogKind::Note, log::LogKind::Handshake, log::LogKind::State};

} // namespace

LogPanel::LogPanel(MessageLogModel *model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
    , m_proxy(new LogFilterProxy(this))
    , m_view(new MessageLogView(this))
    , m_toolBar(new QToolBar(this))
    , m_filter(new DisplayFilterEdit(this))
    , m_contextMenu(new QMenu(this)) {
    m_proxy->setSourceModel(model);
    m_view->setModel(m_proxy);
    m_view->setObjectName(QStringLiteral("messageLog"));
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    // Narrower than the view's defaults: the log shares the window with the docks, and
    // the preview is what people read.
    const int character = fontMetrics().horizontalAdvance(QLatin1Char('0'));
    setUpTimeColumn();
    m_view->setColumnWidth(MessageLogModel::ConnectionColumn, character * 9);
    m_view->setColumnWidth(MessageLogModel::DirectionColumn, character * 10);
    m_view->setColumnWidth(MessageLogModel::KindColumn, character * 15);
    m_view->setColumnWidth(MessageLogModel::LengthColumn, character * 6);

    m_toolBar->setIconSize(QSize(16, 16));
    m_toolBar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    auto *modes = new QActionGroup(this);
    m_messages = m_toolBar->addAction(tr("Messages"));
    m_messages->setToolTip(tr("One row per message, control frame and event"));
    m_frames = m_toolBar->addAction(tr("Frames"));
    m_frames->setToolTip(tr("One row per frame on the wire, fragments included"));
    for (QAction *action : {m_messages, m_frames}) {
        action->setCheckable(true);
        modes->addAction(action);
    }
    m_messages->setChecked(model->displayMode() == MessageLogModel::DisplayMode::Messages);
    m_frames->setChecked(!m_messages->isChecked());
    connect(m_messages, &QAction::toggled, this, [this](bool on) {
        if (on)
            m_model->setDisplayMode(MessageLogModel::DisplayMode::Messages);
    });
    connect(m_frames, &QAction::toggled, this, [this](bool on) {
        if (on)
            m_model->setDisplayMode(MessageLogModel::DisplayMode::Frames);
    });
    m_toolBar->addSeparator();

    auto *directionMenu = new QMenu(this);
    const std::pair<int, QString> directions[] = {
        {LogFilterProxy::Sent, tr("Sent")},
        {LogFilterProxy::Received, tr("Received")},
        {LogFilterProxy::Undirected, tr("Events (state, errors)")},
    };
    for (const auto &[flag, label] : directions) {
        QAction *action = directionMenu->addAction(label);
        action->setCheckable(true);
        action->setChecked(true);
        action->setData(flag);
        connect(action, &QAction::toggled, this, &LogPanel::applyDirectionFilter);
        m_directionActions.append(action);
    }
    auto *directionButton = new QToolButton(this);
    directionButton->setText(tr("Direction"));
    directionButton->setMenu(directionMenu);
    directionButton->setPopupMode(QToolButton::InstantPopup);
    directionButton->setObjectName(QStringLiteral("directionFilter"));
    m_toolBar->addWidget(directionButton);

    auto *kindMenu = new QMenu(this);
    QAction *allKinds = kindMenu->addAction(tr("All kinds"));
    QAction *dataOnly = kindMenu->addAction(tr("Data messages only"));
    kindMenu->addSeparator();
    for (const log::LogKind kind : AllKinds) {
        QAction *action = kindMenu->addAction(QLatin1String(log::logKindName(kind)));
        action->setCheckable(true);
        action->setChecked(true);
        action->setData(int(kind));
        connect(action, &QAction::toggled, this, &LogPanel::applyKindFilter);
        m_kindActions.append(action);
    }
    connect(allKinds, &QAction::triggered, this, [this] {
        for (QAction *action : std::as_const(m_kindActions))
            action->setChecked(true);
    });
    connect(dataOnly, &QAction::triggered, this, [this] {
        for (QAction *action : std::as_const(m_kindActions)) {
            const auto kind = log::LogKind(action->data().toInt());
            action->setChecked(kind == log::LogKind::Text || kind == log::LogKind::Binary ||
                               kind == log::LogKind::Continuation);
        }
    });
    auto *kindButton = new QToolButton(this);
    kindButton->setText(tr("Kinds"));
    kindButton->setMenu(kindMenu);
    kindButton->setPopupMode(QToolButton::InstantPopup);
    kindButton->setObjectName(QStringLiteral("kindFilter"));
    m_toolBar->addWidget(kindButton);

    m_filter->setObjectName(QStringLiteral("logFilter"));
    m_filter->setMinimumWidth(fontMetrics().horizontalAdvance(QLatin1Char('x')) * 30);
    m_toolBar->addWidget(m_filter);
    m_toolBar->addWidget(m_filter->statusLabel());
    m_filter->statusLabel()->show();
    // The field debounces; the proxy filters large logs off the GUI thread.
    connect(m_filter, &DisplayFilterEdit::filterChanged, this,
            [this](const QString &text) { m_proxy->setDisplayFilter(text); });
    connect(m_proxy, &LogFilterProxy::filteringStarted, this,
            [this] { m_filter->setResultText(tr("Filtering\u2026")); });
    connect(m_proxy, &LogFilterProxy::filteringFinished, this, &LogPanel::updateFilterStatus);
    connect(m_proxy, &QAbstractItemModel::rowsInserted, this, &LogPanel::updateFilterStatus);
    connect(m_proxy, &QAbstractItemModel::rowsRemoved, this, &LogPanel::updateFilterStatus);
    connect(m_proxy, &QAbstractItemModel::modelReset, this, &LogPanel::updateFilterStatus);
    m_toolBar->addSeparator();

    m_follow = m_toolBar->addAction(tr("Autoscroll"));
    m_follow->setCheckable(true);
    m_follow->setChecked(true);
    m_follow->setToolTip(tr("Follow new rows; off to keep the view still while traffic flows"));
    connect(m_follow, &QAction::toggled, m_view, &MessageLogView::setFollowTail);
    m_clear = m_toolBar->addAction(tr("Clear"));
    m_clear->setToolTip(tr("Forget every row of the log"));
    connect(m_clear, &QAction::triggered, m_model, &MessageLogModel::clear);
    m_toolBar->addSeparator();
    m_save = m_toolBar->addAction(tr("Save\u2026"));
    m_save->setToolTip(tr("Save the log as JSON Lines (every field of every record)"));
    m_open = m_toolBar->addAction(tr("Open\u2026"));
    m_open->setToolTip(tr("Open a saved log (replaces the rows shown)"));
    m_exportHar = m_toolBar->addAction(tr("Export HAR\u2026"));
    m_exportHar->setToolTip(tr("Export the connections as HAR 1.2, the way browsers do"));
    m_importHar = m_toolBar->addAction(tr("Import HAR\u2026"));
    m_importHar->setToolTip(tr("Add the WebSocket connections of a HAR file (e.g. from Chrome "
                               "DevTools)"));

    m_copyText = m_contextMenu->addAction(tr("Copy payload as text"));
    m_copyHex = m_contextMenu->addAction(tr("Copy payload as hex"));
    m_copyBase64 = m_contextMenu->addAction(tr("Copy payload as base64"));
    m_contextMenu->addSeparator();
    m_resend = m_contextMenu->addAction(tr("Resend"));
    m_resend->setToolTip(tr("Send this payload again on its connection"));
    m_resendToClient = m_contextMenu->addAction(tr("Resend to client"));
    m_resendToServer = m_contextMenu->addAction(tr("Resend to server"));
    // A disabled action says why in its tooltip.
    m_contextMenu->setToolTipsVisible(true);
    m_savePayload = m_contextMenu->addAction(tr("Save payload to file\u2026"));
    m_contextMenu->addSeparator();
    m_setTimeReference = m_contextMenu->addAction(tr("Set as time reference"));
    m_setTimeReference->setToolTip(tr("Show every row's time relative to this one"));
    connect(m_setTimeReference, &QAction::triggered, this, [this] {
        const qsizetype index = m_view->currentStoreIndex();
        if (index >= 0)
            m_model->setTimeReference(index);
    });
    connect(m_copyText, &QAction::triggered, this, [this] { copyPayloads(CopyFormat::Text); });
    connect(m_copyHex, &QAction::triggered, this, [this] { copyPayloads(CopyFormat::Hex); });
    connect(m_copyBase64, &QAction::triggered, this, [this] { copyPayloads(CopyFormat::Base64); });
    connect(m_resend, &QAction::triggered, this, [this] {
        // A relayed row goes through its relay, to a side the user picks.
        for (const qsizetype index : selectedStoreIndices()) {
            const quint32 connection = m_model->store().at(index).connection;
            if (m_model->store().connectionLeg(connection) == log::Leg::None)
                emit resendRequested(index);
        }
    });
    for (const auto &[action, to] : {std::pair{m_resendToClient, log::Leg::Client},
                                     std::pair{m_resendToServer, log::Leg::Server}}) {
        connect(action, &QAction::triggered, this, [this, to = to] {
            for (const qsizetype index : selectedStoreIndices()) {
                const log::LogRecord &record = m_model->store().at(index);
                if (m_model->store().connectionLeg(record.connection) != log::Leg::None &&
                    carriesWholePayload(record))
                    emit resendToLegRequested(index, to);
            }
        });
    }
    connect(m_savePayload, &QAction::triggered, this, [this] {
        const qsizetype index = m_view->currentStoreIndex();
        if (index < 0)
            return;
        const QString path =
            QFileDialog::getSaveFileName(this, tr("Save payload"), QStringLiteral("payload.bin"));
        QString error;
        if (!path.isEmpty() && !savePayload(index, path, &error))
            emit statusMessage(error);
    });
    connect(m_view, &QWidget::customContextMenuRequested, this, [this](const QPoint &position) {
        updatePayloadActions();
        m_contextMenu->popup(m_view->viewport()->mapToGlobal(position));
    });
    connect(m_view, &MessageLogView::currentRecordChanged, this, [this](qsizetype index) {
        updatePayloadActions();
        emit currentRecordChanged(index);
    });

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_toolBar);
    layout->addWidget(m_view, 1);
    updatePayloadActions();
}

void LogPanel::setUpTimeColumn() {
    // The user's choice of time format, kept across runs.
    const QMetaEnum formats = QMetaEnum::fromType<MessageLogModel::TimeFormat>();
    bool known = false;
    const int saved = formats.keyToValue(
        QSettings().value(TimeFormatKey).toString().toLatin1().constData(), &known);
    if (known)
        m_model->setTimeFormat(static_cast<MessageLogModel::TimeFormat>(saved));

    auto *group = new QActionGroup(this);
    const std::pair<MessageLogModel::TimeFormat, QString> choices[] = {
        {MessageLogModel::TimeFormat::WallClock, tr("Time of day (microseconds)")},
        {MessageLogModel::TimeFormat::SinceConnectionStart, tr("Seconds since connection start")},
        {MessageLogModel::TimeFormat::SincePreviousRow, tr("Seconds since previous row")},
        {MessageLogModel::TimeFormat::SinceReference, tr("Seconds since time reference")},
        {MessageLogModel::TimeFormat::SinceLogStart, tr("Seconds since log start")},
    };
    m_timeMenu = new QMenu(tr("Time format"), this);
    for (const auto &[format, text] : choices) {
        QAction *action = m_timeMenu->addAction(text);
        action->setCheckable(true);
        action->setData(int(format));
        action->setChecked(format == m_model->timeFormat());
        group->addAction(action);
        connect(action, &QAction::triggered, this,
                [this, chosen = format] { m_model->setTimeFormat(chosen); });
    }
    QHeaderView *header = m_view->horizontalHeader();
    header->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(header, &QWidget::customContextMenuRequested, this,
            [this, header](const QPoint &at) { m_timeMenu->popup(header->mapToGlobal(at)); });
    connect(m_model, &MessageLogModel::timeFormatChanged, this,
            [this, formats](MessageLogModel::TimeFormat format) {
                QSettings().setValue(TimeFormatKey,
                                     QString::fromLatin1(formats.valueToKey(int(format))));
                for (QAction *action : m_timeMenu->actions())
                    action->setChecked(action->data().toInt() == int(format));
                fitTimeColumn();
            });
    connect(m_model, &QAbstractItemModel::rowsInserted, this, [this] { fitTimeColumn(); });
    fitTimeColumn();
}

void LogPanel::fitTimeColumn() {
    // Wide enough for any time the format shows and for its title: never elided.
    const QFontMetrics metrics(m_view->font());
    const int padding = 4 * metrics.horizontalAdvance(QLatin1Char('0'));
    const int text = metrics.horizontalAdvance(m_model->widestTimeText()) + padding;
    const QString title =
        m_model->headerData(MessageLogModel::TimeColumn, Qt::Horizontal).toString();
    const int titleWidth =
        QFontMetrics(m_view->horizontalHeader()->font()).horizontalAdvance(title) + padding;
    const int wanted = std::max(text, titleWidth);
    if (m_view->columnWidth(MessageLogModel::TimeColumn) < wanted ||
        m_view->columnWidth(MessageLogModel::TimeColumn) > wanted + padding)
        m_view->setColumnWidth(MessageLogModel::TimeColumn, wanted);
}

QAction *LogPanel::directionAction(int direction) const {
    for (QAction *action : m_directionActions) {
        if (action->data().toInt() == direction)
            return action;
    }
    return nullptr;
}

QAction *LogPanel::kindAction(log::LogKind kind) const {
    for (QAction *action : m_kindActions) {
        if (action->data().toInt() == int(kind))
            return action;
    }
    return nullptr;
}

void LogPanel::updateFilterStatus() {
    if (m_proxy->isBusy())
        return; // "Filtering…" until the worker is done
    if (!m_proxy->isFiltering()) {
        m_filter->setResultText(QString());
        return;
    }
    const QLocale locale;
    m_filter->setResultText(
        tr("%1 of %2 rows")
            .arg(locale.toString(m_proxy->rowCount()), locale.toString(m_model->rowCount())));
}

void LogPanel::applyDirectionFilter() {
    LogFilterProxy::Directions directions;
    for (QAction *action : std::as_const(m_directionActions)) {
        if (action->isChecked())
            directions |= LogFilterProxy::DirectionFlag(action->data().toInt());
    }
    m_proxy->setDirectionFilter(directions);
}

void LogPanel::applyKindFilter() {
    log::LogKindSet kinds = 0;
    for (QAction *action : std::as_const(m_kindActions)) {
        if (action->isChecked())
            kinds |= log::logKindBit(log::LogKind(action->data().toInt()));
    }
    m_proxy->setKindFilter(kinds);
}

QList<qsizetype> LogPanel::selectedStoreIndices() const {
    QList<qsizetype> indices;
    for (const QModelIndex &index : m_view->selectionModel()->selectedRows()) {
        const qsizetype storeIndex = m_proxy->storeIndex(index.row());
        if (storeIndex >= 0)
            indices.append(storeIndex);
    }
    std::sort(indices.begin(), indices.end());
    if (indices.isEmpty() && m_view->currentStoreIndex() >= 0)
        indices.append(m_view->currentStoreIndex());
    return indices;
}

void LogPanel::copyPayloads(CopyFormat format) const {
    QStringList parts;
    for (const qsizetype index : selectedStoreIndices()) {
        if (index >= m_model->store().size())
            continue;
        const QByteArray &payload = m_model->store().at(index).payload;
        switch (format) {
        case CopyFormat::Text:
            parts.append(QString::fromUtf8(payload));
            break;
        case CopyFormat::Hex:
            parts.append(QString::fromLatin1(payload.toHex(' ')));
            break;
        case CopyFormat::Base64:
            parts.append(QString::fromLatin1(payload.toBase64()));
            break;
        }
    }
    if (!parts.isEmpty())
        QApplication::clipboard()->setText(parts.join(QLatin1Char('\n')));
}

bool LogPanel::savePayload(qsizetype storeIndex, const QString &path, QString *error) const {
    if (storeIndex < 0 || storeIndex >= m_model->store().size()) {
        if (error)
            *error = tr("No such row");
        return false;
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) ||
        file.write(m_model->store().at(storeIndex).payload) < 0 || !file.commit()) {
        if (error)
            *error = tr("Cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

bool LogPanel::carriesWholePayload(const log::LogRecord &record) {
    switch (record.kind) {
    case log::LogKind::Ping:
        return true;
    case log::LogKind::Text:
    case log::LogKind::Binary:
        // A frame row alone is a fragment, or compressed (RFC 7692 §6), unless it is
        // also its message's row.
        return !record.isFrame() || record.has(log::LogRecord::InMessageView);
    default:
        return false;
    }
}

void LogPanel::setRelayResendCheck(RelayResendCheck check) {
    m_relayResendCheck = std::move(check);
    updatePayloadActions();
}

void LogPanel::updatePayloadActions() {
    const qsizetype index = m_view->currentStoreIndex();
    const bool hasRecord = index >= 0 && index < m_model->store().size();
    for (QAction *action : {m_copyText, m_copyHex, m_copyBase64, m_savePayload})
        action->setEnabled(hasRecord);
    const log::LogRecord *record = hasRecord ? &m_model->store().at(index) : nullptr;
    const bool relayed =
        record && m_model->store().connectionLeg(record->connection) != log::Leg::None;
    bool resendable = false;
    if (record && !relayed) {
        const log::LogKind kind = record->kind;
        resendable = kind == log::LogKind::Text || kind == log::LogKind::Binary ||
                     kind == log::LogKind::Ping;
    }
    m_resend->setEnabled(resendable);
    m_resend->setVisible(!relayed);
    for (const auto &[action, to] : {std::pair{m_resendToClient, log::Leg::Client},
                                     std::pair{m_resendToServer, log::Leg::Server}}) {
        action->setVisible(relayed);
        if (!relayed)
            continue;
        QString blocker;
        if (!carriesWholePayload(*record))
            blocker = tr("Only a whole text or binary message, or a ping, can be sent again");
        else if (!m_relayResendCheck)
            blocker = tr("This pair is not relayed by this window");
        else
            blocker = m_relayResendCheck(index, to);
        action->setEnabled(blocker.isEmpty());
        action->setToolTip(!blocker.isEmpty() ? blocker
                           : to == log::Leg::Client
                               ? tr("Send this payload to the relay's client, as if the "
                                    "server had sent it again")
                               : tr("Send this payload to the upstream server, as if the "
                                    "client had sent it again"));
    }
}

} // namespace ws
