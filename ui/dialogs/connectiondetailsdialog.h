#pragma once

#include <QDialog>

class QTreeWidget;

namespace ws {

class ConnectionHub;

// "Connection details" of one endpoint: its address and state, the negotiated
// permessage-deflate, and for wss the TLS protocol, cipher, how the server's
// certificate was trusted and the chain it presented (subject, issuer, validity,
// SHA-256). A snapshot: it does not follow later changes.
class ConnectionDetailsDialog : public QDialog {
    Q_OBJECT
public:
    ConnectionDetailsDialog(const ConnectionHub &hub, quint32 id, QWidget *parent = nullptr);

    QTreeWidget *detailsTree() const { return m_tree; }
    // The value of the first row named `name` (any depth), or a null string.
    QString value(const QString &name) const;

private:
    QTreeWidget *m_tree;
};

} // namespace ws
