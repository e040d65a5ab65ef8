#include "connectiondetailsdialog.h"

#include "connections/connectionhub.h"
#include "log/logstore.h"
#include "models/connectionsmodel.h"
#include "models/messagelogmodel.h"
#include "protocol/closecode.h"

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

// A logged header block as its start line with a row per header field under it.
void addHeaderBlock(QTreeWidgetItem *group, const QString &title, const QByteArray &raw) {
    QList<QByteArray> lines = raw.split('\n');
    for (QByteArray &line : lines) {
        if (line.endsWith('\r'))
            line.chop(1);
    }
    while (!lines.isEmpty() && lines.constLast().isEmpty())
        lines.removeLast();
    if (lines.isEmpty())
        return;
    QTreeWidgetItem *block = addRow(group, title, QString::fromLatin1(lines.constFirst()));
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray &line = lines.at(i);
        const qsizetype colon = line.indexOf(':');
        if (colon < 0)
            addRow(block, QString(), QString::fromLatin1(line));
        else
            addRow(block, QString::fromLatin1(line.left(colon)),
                   QString::fromLatin1(line.mid(colon + 1).trimmed()));
    }
}

// The connection's first handshake row, if the log still has it.
qsizetype handshakeRow(const log::LogStore &store, quint32 id) {
    for (qsizetype i = 0; i < store.size(); ++i) {
        const log::LogRecord &record = store.at(i);
        if (record.connection == id && record.kind == log::LogKind::Handshake)
            return i;
    }
    return -1;
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
        if (!info->pongPolicy.isEmpty())
            addRow(group, tr("Pings"), info->pongPolicy);

        const log::LogStore &store = hub.log()->store();
        const qsizetype row =
            info->kind == EndpointInfo::Kind::Server ? -1 : handshakeRow(store, id);
        if (const log::LogRecordExtra *handshake = row >= 0 ? store.extra(row) : nullptr) {
            group = addGroup(m_tree, tr("Opening handshake"));
            addHeaderBlock(group, tr("Request"), handshake->rawRequest);
            addHeaderBlock(group, tr("Response"), handshake->rawResponse);
            addRow(group, tr("Subprotocol"),
                   handshake->subprotocol.isEmpty() ? tr("none")
                                                    : QString::fromUtf8(handshake->subprotocol));
            // RFC 6455 §9.1: extensions separated by commas, parameters by semicolons.
            const QList<QByteArray> extensions = handshake->extensions.split(',');
            QTreeWidgetItem *list = addRow(group, tr("Extensions"),
                                           handshake->extensions.trimmed().isEmpty()
                                               ? tr("none")
                                               : QString::fromUtf8(handshake->extensions));
            for (const QByteArray &extension : extensions) {
                const QList<QByteArray> parts = extension.split(';');
                const QString name = QString::fromUtf8(parts.constFirst().trimmed());
                if (name.isEmpty())
                    continue;
                QTreeWidgetItem *item = addRow(list, tr("Extension"), name);
                for (qsizetype i = 1; i < parts.size(); ++i) {
                    const QByteArray parameter = parts.at(i).trimmed();
                    const qsizetype equals = parameter.indexOf('=');
                    addRow(item, QString::fromUtf8(equals < 0 ? parameter : parameter.left(equals)),
                           equals < 0 ? tr("(no value)")
                                      : QString::fromUtf8(parameter.mid(equals + 1).trimmed()));
                }
            }
            if (!handshake->handshakeError.isEmpty())
                addRow(group, tr("Handshake error"), handshake->handshakeError);
        }

        if (info->isConnection()) {
            group = addGroup(m_tree, tr("Counters"));
            addRow(group, tr("Messages received"), QString::number(info->messagesIn));
            addRow(group, tr("Messages sent"), QString::number(info->messagesOut));
            addRow(group, tr("Bytes received"), QString::number(info->bytesIn));
            addRow(group, tr("Bytes sent"), QString::number(info->bytesOut));
        }
        if (info->isConnection() && info->finished) {
            group = addGroup(m_tree, tr("Close"));
            addRow(group, tr("Close code"),
                   info->closeCode ? tr("%1 (%2)")
                                         .arg(*info->closeCode)
                                         .arg(QLatin1String(closeCodeMeaning(*info->closeCode)))
                                   : tr("none (1005/1006: no close frame)"));
            if (!info->closeReason.isEmpty())
                addRow(group, tr("Close reason"), info->closeReason);
            addRow(group, tr("Clean close"), info->cleanClose ? tr("yes") : tr("no"));
        }

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
