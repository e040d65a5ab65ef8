#include "connectiondetailsdialog.h"

#include "connections/connectionhub.h"
#include "models/connectionsmodel.h"

#include <QColor>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace ws {

namespace {

QTreeWidgetItem *addRow(QTreeWidgetItem *parent, const QString &name, const QString &value) {
    auto *item = new QTreeWidgetItem(parent, {name, value});
    item->setToolTip(1, value);
    return item;
}

QTreeWidgetItem *addGroup(QTreeWidget *tree, const QString &title) {
    auto *group = new QTreeWidgetItem(tree, {title});
    QFont font = group->font(0);
    font.setBold(true);
    group->setFont(0, font);
    group->setFirstColumnSpanned(true);
    return group;
}

QString dateText(const QDateTime &when) {
    return when.toUTC().toString(QStringLiteral("yyyy-MM-dd hh:mm:ss 'UTC'"));
}

} // namespace

ConnectionDetailsDialog::ConnectionDetailsDialog(const ConnectionHub &hub, quint32 id,
                                                 QWidget *parent)
    : QDialog(parent)
    , m_tree(new QTreeWidget(this)) {
    setObjectName(QStringLiteral("connectionDetailsDialog"));
    m_tree->setObjectName(QStringLiteral("connectionDetails"));
    m_tree->setColumnCount(2);
    m_tree->setHeaderLabels({tr("Property"), tr("Value")});
    m_tree->header()->setStretchLastSection(true);
    m_tree->setColumnWidth(0, 170);
    // SHA-256 fingerprints are meant to be copied.
    m_tree->setSelectionMode(QAbstractItemView::ExtendedSelection);

    const EndpointInfo *info = hub.info(id);
    setWindowTitle(info ? tr("Connection details: %1").arg(info->name) : tr("Connection details"));
    if (info) {
        QTreeWidgetItem *group = addGroup(m_tree, tr("Connection"));
        addRow(group, tr("Name"), info->name);
        addRow(group, tr("Address"), info->address);
        addRow(group, tr("State"), endpointStateText(*info));
        if (!info->error.isEmpty())
            addRow(group, tr("Error"), info->error);
        if (info->isConnection())
            addRow(group, tr("Compression"),
                   info->deflate.isEmpty() ? tr("none (permessage-deflate not negotiated)")
                                           : info->deflate);

        if (info->tls) {
            const TlsInfo &tls = *info->tls;
            group = addGroup(m_tree, tr("TLS"));
            addRow(group, tr("Protocol"), tlsProtocolText(tls.protocol));
            addRow(group, tr("Cipher"), tls.cipher);
            QTreeWidgetItem *trusted =
                addRow(group, tr("Certificate trusted"), tlsVerifiedText(tls));
            // The user's word is not a certificate authority's.
            if (tls.verifiedBy == TlsInfo::VerifiedBy::Fingerprint)
                trusted->setForeground(1, QColor(0xE6, 0x51, 0x00));
            QTreeWidgetItem *chain = addGroup(m_tree, tr("Certificate chain (server first)"));
            for (qsizetype i = 0; i < tls.chain.size(); ++i) {
                const TlsCertificateInfo &certificate = tls.chain.at(i);
                QTreeWidgetItem *item =
                    addRow(chain, tr("Certificate %1").arg(i + 1), certificate.subject);
                addRow(item, tr("Subject"), certificate.subject);
                addRow(item, tr("Issuer"), certificate.issuer);
                addRow(item, tr("Valid from"), dateText(certificate.notBefore));
                addRow(item, tr("Valid until"), dateText(certificate.notAfter));
                addRow(item, tr("SHA-256"), certificate.sha256);
            }
        } else if (info->secure) {
            group = addGroup(m_tree, tr("TLS"));
            addRow(group, tr("Protocol"),
                   info->kind == EndpointInfo::Kind::Client ? tr("not established")
                                                            : tr("TLS (wss)"));
        }
    }
    m_tree->expandAll();
    m_tree->resizeColumnToContents(0);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_tree);
    layout->addWidget(buttons);
    resize(820, 440);
}

QString ConnectionDetailsDialog::value(const QString &name) const {
    const QList<QTreeWidgetItem *> items =
        m_tree->findItems(name, Qt::MatchExactly | Qt::MatchRecursive, 0);
    return items.isEmpty() ? QString() : items.constFirst()->text(1);
}

} // namespace ws
