#include "connectionspanel.h"

#include "connections/connectionhub.h"
#include "controllers/replaycontroller.h"
#include "dialogs/connectiondetailsdialog.h"
#include "dialogs/pairfaultsdialog.h"
#include "dialogs/replaydialog.h"
#include "dialogs/trustcertificatedialog.h"
#include "models/connectionsmodel.h"
#include "widgets/connectionstreeview.h"
#include "widgets/replaybar.h"

#include <QAction>
#include <QHeaderView>
#include <QInputDialog>
#include <QMenu>
#include <QSettings>
#include <QToolBar>
#include <QTreeView>
#include <QVBoxLayout>

namespace ws {

namespace {
const QString FinishedKeptKey = QStringLiteral("connections/finishedKept");
} // namespace

ConnectionsPanel::ConnectionsPanel(ConnectionHub *hub, QWidget *parent)
    : QWidget(parent)
    , m_hub(hub)
    , m_model(new ConnectionsModel(hub, this))
    , m_tree(new ConnectionsTreeView(m_model, this))
    , m_toolBar(new QToolBar(this)) {
    m_toolBar->setIconSize(QSize(16, 16));
    m_toolBar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    m_reconnect = m_toolBar->addAction(tr("Reconnect"));
    m_reconnect->setShortcut(QKeySequence(tr("Ctrl+R")));
    m_reconnect->setToolTip(tr("Open the selected closed connection again: same URL, headers "
                               "and options (Ctrl+R)"));
    m_close = m_toolBar->addAction(tr("Close"));
    m_close->setToolTip(tr("Close the selected connection with 1000 (normal closure), or stop "
                           "the selected server or relay"));
    m_abort = m_toolBar->addAction(tr("Drop"));
    m_abort->setToolTip(tr("Drop the selected connection without a close handshake"));
    m_forget = m_toolBar->addAction(tr("Forget closed"));
    m_forget->setToolTip(tr("Remove closed connections and stopped servers from the tree "
                            "(their log rows stay)"));

    m_keepFinished = new QAction(tr("Keep finished\u2026"), this);
    m_keepFinished->setToolTip(tr("How many finished connections each server and relay keeps "
                                  "in the tree (their log rows stay)"));
    connect(m_keepFinished, &QAction::triggered, this, &ConnectionsPanel::editFinishedKept);
    bool valid = false;
    const int kept = QSettings().value(FinishedKeptKey).toInt(&valid);
    m_hub->setFinishedKept(valid && kept > 0 ? kept : ConnectionHub::DefaultFinishedKept);

    m_details = m_toolBar->addAction(tr("Details\u2026"));
    m_details->setToolTip(tr("Connection details: TLS protocol, cipher and certificate chain, "
                             "compression"));
    m_trust = new QAction(tr("Trust this certificate\u2026"), this);
    m_trust->setToolTip(tr("Show the certificate the server presented and reconnect accepting "
                           "exactly it"));
    m_toolBar->addAction(m_trust);
    m_replay = new QAction(tr("Replay\u2026"), this);
    m_replay->setToolTip(tr("Play the client side of the selected connection again against a "
                            "server, with its recorded timing"));
    m_pairFaults = new QAction(tr("Faults for this pair\u2026"), this);
    m_pairFaults->setToolTip(tr("Latency, throttle and drops for this relayed pair alone, "
                                "instead of the relay's"));
    connect(m_pairFaults, &QAction::triggered, this, [this] { editPairFaults(selectedId()); });
    m_cutMenu = new QMenu(tr("Cut a leg now"), this);
    for (const RelayLegKind leg : {RelayLegKind::Client, RelayLegKind::Server}) {
        for (const RelayCut::Style style : {RelayCut::Style::Close, RelayCut::Style::Reset}) {
            const QString legText =
                leg == RelayLegKind::Client ? tr("client leg") : tr("server leg");
            QAction *cut = m_cutMenu->addAction(style == RelayCut::Style::Close
                                                    ? tr("Cut the %1: close (1001)").arg(legText)
                                                    : tr("Cut the %1: TCP reset").arg(legText));
            connect(cut, &QAction::triggered, this, [this, leg, style] {
                const EndpointInfo *pair = m_hub->info(relayPairNode(selectedId()));
                Relay *relay = pair ? m_hub->relay(pair->parentId) : nullptr;
                if (!relay)
                    return;
                RelayCut how;
                how.style = style;
                if (!relay->cut(m_hub->relayPairNumber(pair->id), leg, how))
                    emit statusMessage(tr("Not cut: the %1 leg is not open")
                                           .arg(QLatin1String(relayLegName(leg))));
            });
        }
    }
    m_replayController = new ReplayController(hub, this);
    m_replayBar = new ReplayBar(m_replayController, this);
    connect(m_replayBar, &ReplayBar::compareRequested, this,
            &ConnectionsPanel::compareReplayRequested);
    connect(m_replay, &QAction::triggered, this, [this] { replay(selectedId()); });

    m_tree->setModel(m_model);
    m_tree->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_tree, &QWidget::customContextMenuRequested, this, [this](const QPoint &position) {
        const QModelIndex index = m_tree->indexAt(position);
        if (!index.isValid() || m_model->idOf(index) == 0)
            return;
        m_tree->setCurrentIndex(index);
        QMenu menu(this);
        fillContextMenu(&menu);
        menu.exec(m_tree->viewport()->mapToGlobal(position));
    });
    m_tree->setObjectName(QStringLiteral("connectionsTree"));
    m_tree->setUniformRowHeights(true);
    m_tree->setAllColumnsShowFocus(true);
    m_tree->setRootIsDecorated(true);
    m_tree->setExpandsOnDoubleClick(false);
    m_tree->header()->setStretchLastSection(false);
    m_tree->header()->setSectionResizeMode(ConnectionsModel::NameColumn,
                                           QHeaderView::ResizeToContents);
    // Sized from the rows on screen: every change of a node lays the column out again,
    // and measuring a thousand texts each time (Qt's default) stalls a busy window.
    m_tree->header()->setResizeContentsPrecision(0);
    m_tree->header()->setSectionResizeMode(ConnectionsModel::StateColumn, QHeaderView::Interactive);
    const int character = fontMetrics().horizontalAdvance(QLatin1Char('0'));
    m_tree->setColumnWidth(ConnectionsModel::StateColumn, character * 18);
    m_tree->setColumnWidth(ConnectionsModel::AddressColumn, character * 26);
    m_tree->setColumnWidth(ConnectionsModel::MessagesColumn, character * 12);
    m_tree->setCurrentIndex(m_model->allIndex());

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_toolBar);
    layout->addWidget(m_tree);
    layout->addWidget(m_replayBar);

    connect(m_tree->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this] {
        updateActions();
        emit scopeChanged(selectedId());
    });
    // A server's new client shows at once.
    connect(m_model, &QAbstractItemModel::rowsInserted, this,
            [this](const QModelIndex &parentIndex) {
                if (parentIndex.isValid())
                    m_tree->expand(parentIndex);
            });
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
        m_tree->expandAll();
        if (!m_tree->currentIndex().isValid())
            m_tree->setCurrentIndex(m_model->allIndex());
    });
    connect(m_model, &QAbstractItemModel::dataChanged, this, &ConnectionsPanel::updateActions);
    connect(m_close, &QAction::triggered, this, [this] {
        const quint32 id = selectedId();
        const EndpointInfo *info = m_hub->info(id);
        if (!info)
            return;
        if (info->kind == EndpointInfo::Kind::Server) {
            m_hub->stopServer(id);
        } else if (info->kind == EndpointInfo::Kind::Relay) {
            m_hub->stopRelay(id);
        } else if (info->kind == EndpointInfo::Kind::RelayPair) {
            // Both legs at once: each peer hears 1000 from the relay, and the close
            // each answers has nowhere left to go.
            for (const log::Leg leg : {log::Leg::Client, log::Leg::Server}) {
                const SendError result =
                    m_hub->sendClose(m_hub->legOf(id, leg), toWire(CloseCode::Normal), {});
                if (result != SendError::None)
                    emit statusMessage(tr("Not closed: %1 leg: %2")
                                           .arg(QLatin1String(log::legName(leg)),
                                                QString::fromUtf8(sendErrorText(result))));
            }
        } else if (info->isConnection()) {
            const SendError result = m_hub->sendClose(id, toWire(CloseCode::Normal), {});
            if (result != SendError::None)
                emit statusMessage(
                    tr("Not closed: %1").arg(QString::fromUtf8(sendErrorText(result))));
        }
    });
    connect(m_abort, &QAction::triggered, this, [this] { m_hub->abort(selectedId()); });
    connect(m_reconnect, &QAction::triggered, this, [this] {
        const quint32 newId = m_hub->reconnect(selectedId());
        if (newId == 0)
            return;
        select(newId);
        emit reconnected(newId);
    });
    connect(m_details, &QAction::triggered, this, [this] { showDetails(selectedId()); });
    connect(m_trust, &QAction::triggered, this, [this] { trustCertificate(selectedId()); });
    connect(m_tree, &QTreeView::doubleClicked, this, [this](const QModelIndex &index) {
        if (m_model->idOf(index) != 0)
            showDetails(m_model->idOf(index));
    });
    connect(m_forget, &QAction::triggered, this, [this] {
        const quint32 id = selectedId();
        m_hub->removeFinished();
        // The node may have gone with them.
        if (m_hub->info(id))
            select(id);
        else
            select(0);
    });
    updateActions();
}

void ConnectionsPanel::addAction(QAction *action, bool first) {
    if (first && !m_toolBar->actions().isEmpty())
        m_toolBar->insertAction(m_toolBar->actions().constFirst(), action);
    else
        m_toolBar->addAction(action);
}

void ConnectionsPanel::fillContextMenu(QMenu *menu) const {
    menu->addAction(m_details);
    if (m_reconnect->isEnabled())
        menu->addAction(m_reconnect);
    if (m_trust->isEnabled())
        menu->addAction(m_trust);
    if (m_replay->isEnabled())
        menu->addAction(m_replay);
    if (m_pairFaults->isEnabled()) {
        menu->addSeparator();
        menu->addAction(m_pairFaults);
        menu->addMenu(m_cutMenu);
    }
    menu->addSeparator();
    menu->addAction(m_close);
    menu->addAction(m_abort);
}

quint32 ConnectionsPanel::relayPairNode(quint32 id) const {
    const EndpointInfo *info = m_hub->info(id);
    if (info && info->kind == EndpointInfo::Kind::RelayLeg)
        info = m_hub->info(info->parentId);
    return info && info->kind == EndpointInfo::Kind::RelayPair ? info->id : 0;
}

PairFaultsDialog *ConnectionsPanel::editPairFaults(quint32 id) {
    const EndpointInfo *pair = m_hub->info(relayPairNode(id));
    Relay *relay = pair && pair->isLive() ? m_hub->relay(pair->parentId) : nullptr;
    if (!relay)
        return nullptr;
    const quint32 pairId = pair->id;
    const quint64 number = m_hub->relayPairNumber(pairId);
    auto *dialog = new PairFaultsDialog(relayPairLogName(relay->options().name, number),
                                        relay->pairFaults(number), relay->faults(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowModality(Qt::WindowModal);
    connect(dialog, &QDialog::accepted, this, [this, dialog, pairId, number] {
        const EndpointInfo *node = m_hub->info(pairId);
        Relay *now = node ? m_hub->relay(node->parentId) : nullptr;
        if (!now || !now->setPairFaults(number, dialog->pairFaults()))
            emit statusMessage(tr("Faults not set: the pair is over"));
    });
    dialog->open();
    return dialog;
}

QInputDialog *ConnectionsPanel::editFinishedKept() {
    auto *dialog = new QInputDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("Keep finished connections"));
    dialog->setLabelText(tr("Finished connections each server and relay keeps in the tree\n"
                            "(a relay's pairs, with their legs). Beyond half as many again,\n"
                            "the oldest leave the tree; their rows stay in the log."));
    dialog->setInputMode(QInputDialog::IntInput);
    dialog->setIntRange(1, 10'000'000);
    dialog->setIntStep(100);
    dialog->setIntValue(m_hub->finishedKept());
    connect(dialog, &QInputDialog::intValueSelected, this, &ConnectionsPanel::setFinishedKept);
    dialog->setWindowModality(Qt::WindowModal);
    dialog->open();
    return dialog;
}

void ConnectionsPanel::setFinishedKept(int perListener) {
    m_hub->setFinishedKept(perListener);
    QSettings().setValue(FinishedKeptKey, m_hub->finishedKept());
}

quint32 ConnectionsPanel::selectedId() const {
    return m_model->idOf(m_tree->currentIndex());
}

void ConnectionsPanel::select(quint32 id) {
    const QModelIndex index = id == 0 ? m_model->allIndex() : m_model->indexOf(id);
    if (!index.isValid())
        return;
    m_tree->setCurrentIndex(index);
    m_tree->scrollTo(index);
    // The node may have been current already, while its state was still to be told.
    updateActions();
}

void ConnectionsPanel::updateActions() {
    const EndpointInfo *info = m_hub->info(selectedId());
    const bool live = info && info->isLive();
    m_close->setEnabled(live);
    m_reconnect->setEnabled(info && info->kind == EndpointInfo::Kind::Client && info->finished);
    m_abort->setEnabled(live && info->isConnection());
    m_details->setEnabled(info != nullptr);
    const bool canTrust = info && info->finished && !info->rejectedChain.isEmpty();
    m_trust->setEnabled(canTrust);
    m_replay->setEnabled(info &&
                         (info->isConnection() || info->kind == EndpointInfo::Kind::Archived));
    const EndpointInfo *pair = m_hub->info(relayPairNode(selectedId()));
    const bool livePair = pair && pair->isLive() && m_hub->relay(pair->parentId);
    m_pairFaults->setEnabled(livePair);
    m_cutMenu->setEnabled(livePair);
}

ReplayDialog *ConnectionsPanel::replay(quint32 id) {
    const EndpointInfo *info = m_hub->info(id);
    if (!info || !(info->isConnection() || info->kind == EndpointInfo::Kind::Archived))
        return nullptr;
    auto *dialog = new ReplayDialog(info->name, m_replayController->recordedUrl(id), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowModality(Qt::WindowModal);
    connect(dialog, &QDialog::accepted, this, [this, dialog, id] {
        const std::optional<ReplaySettings> settings = dialog->settings();
        if (!settings)
            return;
        QString error;
        const quint32 newId = m_replayController->start(id, *settings, &error);
        if (!newId) {
            emit statusMessage(tr("Cannot replay: %1").arg(error));
            return;
        }
        select(newId);
    });
    dialog->open();
    return dialog;
}

ConnectionDetailsDialog *ConnectionsPanel::showDetails(quint32 id) {
    if (!m_hub->info(id))
        return nullptr;
    auto *dialog = new ConnectionDetailsDialog(*m_hub, id, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
    return dialog;
}

TrustCertificateDialog *ConnectionsPanel::trustCertificate(quint32 id) {
    const EndpointInfo *info = m_hub->info(id);
    if (!info || info->rejectedChain.isEmpty())
        return nullptr;
    auto *dialog = new TrustCertificateDialog(info->rejectedChain, info->error, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog, id] {
        const quint32 newId = m_hub->reconnectAccepting(id, dialog->fingerprint());
        if (newId == 0)
            return;
        select(newId);
        emit reconnected(newId);
    });
    dialog->open();
    return dialog;
}

} // namespace ws
