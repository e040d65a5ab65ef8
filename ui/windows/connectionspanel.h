#pragma once

#include <QWidget>

class QAction;
class QInputDialog;
class QMenu;
class QToolBar;
class QTreeView;

namespace ws {

class ConnectionDetailsDialog;
class ConnectionHub;
class ConnectionsModel;
class PairFaultsDialog;
class ReplayBar;
class ReplayController;
class ReplayDialog;
class TrustCertificateDialog;

// The Connections dock: the tree of client connections and hosted servers with
// their state, address and counters. The selected node scopes the log; "All
// connections" shows everything.
class ConnectionsPanel : public QWidget {
    Q_OBJECT
public:
    explicit ConnectionsPanel(ConnectionHub *hub, QWidget *parent = nullptr);

    ConnectionsModel *model() const { return m_model; }
    QTreeView *treeView() const { return m_tree; }
    QAction *reconnectAction() const { return m_reconnect; }
    QAction *closeAction() const { return m_close; }
    QAction *abortAction() const { return m_abort; }
    QAction *forgetAction() const { return m_forget; }
    // "Keep finished…": how many finished connections each server and relay keeps in
    // the tree (ConnectionHub::finishedKept), remembered between runs.
    QAction *keepFinishedAction() const { return m_keepFinished; }
    // Its dialog (window-modal, not blocking); accepting it calls setFinishedKept().
    QInputDialog *editFinishedKept();
    void setFinishedKept(int perListener);
    QAction *detailsAction() const { return m_details; }
    QAction *trustAction() const { return m_trust; }
    QAction *replayAction() const { return m_replay; }
    // A relayed pair's (or either of its legs'): its own faults, and cutting a leg now
    // with a close (1001) or a TCP reset.
    QAction *pairFaultsAction() const { return m_pairFaults; }
    QMenu *cutMenu() const { return m_cutMenu; }
    ReplayController *replayController() const { return m_replayController; }
    ReplayBar *replayBar() const { return m_replayBar; }
    // "Replay…" of `id`: asks for the target, speed and pacing (window-modal, not
    // blocking) and starts the replay as a new connection, which is selected.
    ReplayDialog *replay(quint32 id);
    QToolBar *toolBar() const { return m_toolBar; }
    void addAction(QAction *action, bool first = false);

    // 0: "All connections".
    quint32 selectedId() const;
    void select(quint32 id);

    // "Connection details" of `id` (window-modal, not blocking); null for none.
    ConnectionDetailsDialog *showDetails(quint32 id);
    // The tree's context menu for the selected node, into `menu`.
    void fillContextMenu(QMenu *menu) const;
    // The pair node of a relayed pair or of either of its legs, else 0.
    quint32 relayPairNode(quint32 id) const;
    // "Faults for this pair…" of `id` (a pair or a leg of it): window-modal, not
    // blocking; accepted, it sets the pair's faults. Null when `id` is no live pair.
    PairFaultsDialog *editPairFaults(quint32 id);

    // For a wss client whose server certificate was refused: shows the certificate and,
    // once the user trusts it, reconnects accepting exactly it (the new connection is
    // selected). Window-modal, not blocking; null when `id` has no refused certificate.
    TrustCertificateDialog *trustCertificate(quint32 id);

signals:
    // The selection changed: 0 for "All connections".
    void scopeChanged(quint32 id);
    // A connection was reopened trusting a certificate.
    void reconnected(quint32 newId);
    // What the user should hear about, e.g. a close that could not be sent.
    void statusMessage(const QString &message);
    // The replay bar's "Compare with recording".
    void compareReplayRequested(quint32 recordedId, quint32 replayId);

private:
    void updateActions();

    ConnectionHub *m_hub;
    ConnectionsModel *m_model;
    QTreeView *m_tree;
    QToolBar *m_toolBar;
    QAction *m_reconnect;
    QAction *m_close;
    QAction *m_abort;
    QAction *m_forget;
    QAction *m_keepFinished;
    QAction *m_details;
    QAction *m_trust;
    QAction *m_replay;
    QAction *m_pairFaults;
    QMenu *m_cutMenu;
    ReplayController *m_replayController;
    ReplayBar *m_replayBar;
};

} // namespace ws
