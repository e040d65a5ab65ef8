#include "connectionsmodel.h"

#include "connections/connectionhub.h"

#include <QApplication>
#include <QBrush>
#include <QColor>
#include <QFont>
#include <QIcon>
#include <QLocale>
#include <QPainter>
#include <QPainterPath>
#include <QPixmap>
#include <QStyle>

#include <algorithm>
#include <functional>

namespace ws {

namespace {

const QColor ErrorColor(0xC6, 0x28, 0x28);
const QColor OpenColor(0x1B, 0x5E, 0x20);
const QColor MutedColor(0x75, 0x75, 0x75);
// A certificate the user vouched for is not one a CA vouched for.
const QColor WarningColor(0xE6, 0x51, 0x00);

QString byteText(qint64 bytes) {
    return QLocale::system().formattedDataSize(bytes, 1, QLocale::DataSizeTraditionalFormat);
}

// `base` with a padlock in its lower right corner: the node is encrypted (wss). Drawn
// rather than taken from a font, which may have no padlock glyph.
QIcon withLock(const QIcon &base, const QColor &color) {
    constexpr int Size = 16;
    QPixmap pixmap = base.pixmap(Size, Size);
    if (pixmap.isNull()) {
        pixmap = QPixmap(Size, Size);
        pixmap.fill(Qt::transparent);
    }
    QPainter painter(&pixmap);
    painter.setRenderHint(QPainter::Antialiasing);
    const QRectF body(Size - 9.0, Size - 6.0, 8.0, 6.0);
    QPainterPath shackle;
    shackle.moveTo(body.left() + 1.5, body.top());
    shackle.lineTo(body.left() + 1.5, body.top() - 2.0);
    shackle.arcTo(QRectF(body.left() + 1.5, body.top() - 4.5, 5.0, 5.0), 180.0, -180.0);
    shackle.lineTo(body.right() - 1.5, body.top());
    painter.setPen(QPen(Qt::white, 3.0));
    painter.drawPath(shackle);
    painter.setPen(QPen(color, 1.4));
    painter.drawPath(shackle);
    painter.setPen(QPen(Qt::white, 1.0));
    painter.setBrush(color);
    painter.drawRoundedRect(body, 1.0, 1.0);
    painter.end();
    return QIcon(pixmap);
}

QIcon kindIcon(EndpointInfo::Kind kind) {
    switch (kind) {
    case EndpointInfo::Kind::Server:
        return QApplication::style()->standardIcon(QStyle::SP_DriveNetIcon);
    case EndpointInfo::Kind::Relay:
        return QApplication::style()->standardIcon(QStyle::SP_BrowserReload);
    case EndpointInfo::Kind::RelayPair:
        return QApplication::style()->standardIcon(QStyle::SP_ArrowRight);
    case EndpointInfo::Kind::Archived:
        return QApplication::style()->standardIcon(QStyle::SP_FileIcon);
    case EndpointInfo::Kind::Client:
    case EndpointInfo::Kind::ServerClient:
    case EndpointInfo::Kind::RelayLeg:
        return QApplication::style()->standardIcon(QStyle::SP_ComputerIcon);
    }
    return {};
}

} // namespace

QString tlsProtocolText(const QString &protocol) {
    QString text = protocol;
    if (text.startsWith(QLatin1String("TLSv")))
        text = QStringLiteral("TLS ") + text.mid(4);
    return text.isEmpty() ? ConnectionsModel::tr("TLS") : text;
}

QString tlsVerifiedText(const TlsInfo &tls) {
    switch (tls.verifiedBy) {
    case TlsInfo::VerifiedBy::System:
        return ConnectionsModel::tr("verified by the system's certificate store");
    case TlsInfo::VerifiedBy::CaFile:
        return ConnectionsModel::tr("verified by the CA file");
    case TlsInfo::VerifiedBy::Fingerprint:
        return ConnectionsModel::tr("not verified: accepted self-signed (its SHA-256 "
                                    "fingerprint was trusted)");
    }
    return {};
}

ConnectionsModel::ConnectionsModel(ConnectionHub *hub, QObject *parent)
    : QAbstractItemModel(parent)
    , m_hub(hub) {
    m_changeTimer.setSingleShot(true);
    m_changeTimer.setInterval(ChangeCoalescingMs);
    connect(&m_changeTimer, &QTimer::timeout, this, &ConnectionsModel::onChangeTimer);
    m_insertTimer.setSingleShot(true);
    connect(&m_insertTimer, &QTimer::timeout, this, &ConnectionsModel::flushChanges);
    for (const quint32 id : hub->ids())
        onAdded(id);
    insertPending();
    connect(hub, &ConnectionHub::endpointAdded, this, &ConnectionsModel::onAdded);
    connect(hub, &ConnectionHub::endpointsChanged, this, &ConnectionsModel::onChanged);
    connect(hub, &ConnectionHub::endpointsAboutToBeRemoved, this,
            &ConnectionsModel::onAboutToBeRemoved);
    connect(hub, &ConnectionHub::endpointsRemoved, this, &ConnectionsModel::onRemoved);
}

const QList<quint32> &ConnectionsModel::childrenOf(quint32 parentId) const {
    static const QList<quint32> none;
    if (parentId == 0)
        return m_topLevel;
    const auto it = m_children.constFind(parentId);
    return it == m_children.constEnd() ? none : *it;
}

QList<quint32> &ConnectionsModel::childrenOf(quint32 parentId) {
    return parentId == 0 ? m_topLevel : m_children[parentId];
}

QModelIndex ConnectionsModel::allIndex() const {
    return createIndex(0, 0, AllNode);
}

QModelIndex ConnectionsModel::indexOf(quint32 id, int column) const {
    // A caller that has just been told of a node may look for it at once.
    if (m_pendingIds.contains(id))
        const_cast<ConnectionsModel *>(this)->insertPending();
    const EndpointInfo *info = m_hub->info(id);
    if (!info)
        return {};
    const auto found = m_position.constFind(id);
    if (found == m_position.constEnd())
        return {};
    const int position = *found;
    // Top-level rows come after the "All" node.
    const int row = int(position) + (info->parentId == 0 ? 1 : 0);
    return createIndex(row, column, quintptr(id));
}

quint32 ConnectionsModel::idOf(const QModelIndex &index) const {
    return index.isValid() ? quint32(index.internalId()) : 0;
}

QModelIndex ConnectionsModel::index(int row, int column, const QModelIndex &parent) const {
    if (row < 0 || column < 0 || column >= ColumnCount)
        return {};
    if (!parent.isValid()) {
        if (row == 0)
            return createIndex(0, column, AllNode);
        if (row - 1 >= m_topLevel.size())
            return {};
        return createIndex(row, column, quintptr(m_topLevel[row - 1]));
    }
    const quint32 parentId = idOf(parent);
    if (parentId == 0)
        return {};
    const QList<quint32> &children = childrenOf(parentId);
    if (row >= children.size())
        return {};
    return createIndex(row, column, quintptr(children[row]));
}

QModelIndex ConnectionsModel::parent(const QModelIndex &child) const {
    const quint32 id = idOf(child);
    if (id == 0)
        return {};
    const EndpointInfo *info = m_hub->info(id);
    if (!info || info->parentId == 0)
        return {};
    return indexOf(info->parentId);
}

int ConnectionsModel::rowCount(const QModelIndex &parent) const {
    if (!parent.isValid())
        return int(m_topLevel.size()) + 1;
    if (parent.column() != 0)
        return 0;
    const quint32 id = idOf(parent);
    return id == 0 ? 0 : int(childrenOf(id).size());
}

int ConnectionsModel::columnCount(const QModelIndex &) const {
    return ColumnCount;
}

QVariant ConnectionsModel::data(const QModelIndex &index, int role) const {
    if (!index.isValid())
        return {};
    const quint32 id = idOf(index);
    if (id == 0) {
        switch (role) {
        case Qt::DisplayRole:
            if (index.column() == NameColumn)
                return tr("All connections");
            if (index.column() == StateColumn)
                return tr("%n live", nullptr, m_hub->liveConnectionCount());
            return {};
        case Qt::FontRole: {
            QFont font;
            font.setBold(true);
            return font;
        }
        case EndpointIdRole:
            return 0u;
        case IsAllRole:
            return true;
        default:
            return {};
        }
    }
    const EndpointInfo *info = m_hub->info(id);
    if (!info)
        return {};
    const bool isServer = info->isListener();
    const bool isPair = info->kind == EndpointInfo::Kind::RelayPair;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NameColumn:
            return nameText(*info);
        case StateColumn:
            if (!info->error.isEmpty())
                return tr("%1 \u2014 %2").arg(endpointStateText(*info), info->error);
            return endpointStateText(*info);
        case AddressColumn:
            return info->address;
        case MessagesColumn:
            if (info->kind == EndpointInfo::Kind::Relay)
                return tr("%n pair(s)", nullptr, int(m_children.value(id).size()));
            if (isServer)
                return tr("%n client(s)", nullptr, int(m_children.value(id).size()));
            // A pair counts what each side sent through the relay.
            if (isPair)
                return tr("%1 c\u2192s %2 s\u2192c").arg(info->messagesIn).arg(info->messagesOut);
            return QStringLiteral("%1 \u2193 %2 \u2191")
                .arg(info->messagesIn)
                .arg(info->messagesOut);
        case BytesColumn:
            if (isServer)
                return {};
            if (isPair)
                return tr("%1 c\u2192s %2 s\u2192c")
                    .arg(byteText(info->bytesIn), byteText(info->bytesOut));
            return QStringLiteral("%1 \u2193 %2 \u2191")
                .arg(byteText(info->bytesIn), byteText(info->bytesOut));
        }
        return {};
    case Qt::ToolTipRole: {
        QStringList lines{info->name, info->address, endpointStateText(*info)};
        if (info->kind == EndpointInfo::Kind::RelayLeg)
            lines.append(info->leg == log::Leg::Client
                             ? tr("The relay's side facing its client: received = what the "
                                  "client sent")
                             : tr("The relay's side facing the upstream server: received = "
                                  "what the server sent"));
        if (info->closeCode && !info->closeReason.isEmpty())
            lines.append(tr("Reason: %1").arg(info->closeReason));
        if (!info->pongPolicy.isEmpty())
            lines.append(tr("Pong policy: %1").arg(info->pongPolicy));
        if (info->tls) {
            lines.append(tr("TLS: %1, %2").arg(info->tls->protocol, info->tls->cipher));
            lines.append(tr("Certificate: %1").arg(tlsVerifiedText(*info->tls)));
        } else if (info->secure && info->kind != EndpointInfo::Kind::Client) {
            lines.append(tr("TLS (wss)"));
        }
        if (!info->deflate.isEmpty())
            lines.append(info->deflate);
        if (info->kind == EndpointInfo::Kind::RelayPair) {
            // Negotiated per leg: compression may be on one side of the relay only.
            for (const log::Leg leg : {log::Leg::Client, log::Leg::Server}) {
                const EndpointInfo *legInfo = m_hub->info(m_hub->legOf(info->id, leg));
                const QString extensions =
                    legInfo && !legInfo->deflate.isEmpty() ? legInfo->deflate : tr("no extension");
                lines.append(leg == log::Leg::Client ? tr("Client leg: %1").arg(extensions)
                                                     : tr("Server leg: %1").arg(extensions));
            }
        }
        if (!info->ownFaults.isEmpty())
            lines.append(tr("Faults for this pair: %1").arg(info->ownFaults));
        if (!info->error.isEmpty())
            lines.append(tr("Error: %1").arg(info->error));
        if (!info->rejectedChain.isEmpty())
            lines.append(tr("\u201cTrust this certificate\u2026\u201d shows it and can "
                            "reconnect accepting exactly it."));
        return lines.join(QLatin1Char('\n'));
    }
    case Qt::ForegroundRole:
        if (!info->error.isEmpty() &&
            (index.column() == NameColumn || index.column() == StateColumn))
            return QBrush(ErrorColor);
        if (index.column() == NameColumn && info->tls &&
            info->tls->verifiedBy == TlsInfo::VerifiedBy::Fingerprint)
            return QBrush(WarningColor);
        if (index.column() == StateColumn) {
            if (info->finished)
                return QBrush(MutedColor);
            if (info->state == SessionState::Open)
                return QBrush(OpenColor);
        }
        return {};
    case Qt::DecorationRole:
        if (index.column() != NameColumn)
            return {};
        return icon(*info);
    case EndpointIdRole:
        return uint(id);
    case IsAllRole:
        return false;
    case ErrorRole:
        return info->error;
    case TlsRole:
        return info->tls ? tlsProtocolText(info->tls->protocol) : QString();
    case CanTrustRole:
        return !info->rejectedChain.isEmpty();
    case SecureRole:
        return info->tls.has_value() ||
               (info->secure && info->kind != EndpointInfo::Kind::Client && info->error.isEmpty());
    case NameRole:
        return info->name;
    case StateTextRole:
        return endpointStateText(*info);
    default:
        return {};
    }
}

QVariant ConnectionsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NameColumn:
        return tr("Connection");
    case StateColumn:
        return tr("State");
    case AddressColumn:
        return tr("URL / peer");
    case MessagesColumn:
        return tr("Messages");
    case BytesColumn:
        return tr("Bytes");
    }
    return {};
}

QString ConnectionsModel::nameText(const EndpointInfo &info) const {
    // Below its pair a leg is named by its side; the log has its full name.
    if (info.kind == EndpointInfo::Kind::RelayLeg)
        return info.leg == log::Leg::Client ? tr("client leg") : tr("server leg");
    QString name = info.name;
    if (info.tls)
        name = QStringLiteral("%1 \u00B7 %2").arg(info.name, tlsProtocolText(info.tls->protocol));
    // A wss server and its clients: encrypted, but the protocol is per client and
    // known to the server only.
    else if (info.secure && info.kind != EndpointInfo::Kind::Client)
        name = QStringLiteral("%1 \u00B7 wss").arg(info.name);
    // A pair staged apart from the others says so where it is looked for.
    if (!info.ownFaults.isEmpty())
        name += tr(" \u00B7 own faults");
    return name;
}

int ConnectionsModel::iconKey(const EndpointInfo &info) {
    // The kind, and whether it has a padlock (1) vouched for by the user (2); -1 the
    // warning. The name's colour follows the same.
    if (!info.error.isEmpty())
        return -1;
    int lock = 0;
    if (info.tls || (info.secure && info.kind != EndpointInfo::Kind::Client))
        lock = info.tls && info.tls->verifiedBy == TlsInfo::VerifiedBy::Fingerprint ? 2 : 1;
    return int(info.kind) * 3 + lock;
}

QIcon ConnectionsModel::icon(const EndpointInfo &info) const {
    const int key = iconKey(info);
    auto it = m_icons.find(key);
    if (it != m_icons.end())
        return *it;
    QIcon made;
    if (key < 0)
        made = QApplication::style()->standardIcon(QStyle::SP_MessageBoxWarning);
    else if (key % 3 == 0)
        made = kindIcon(info.kind);
    else
        made = withLock(kindIcon(info.kind), key % 3 == 2 ? WarningColor : OpenColor);
    return *m_icons.insert(key, made);
}

void ConnectionsModel::onAdded(quint32 id) {
    if (!m_hub->info(id) || m_position.contains(id) || m_pendingIds.contains(id))
        return;
    m_pendingAdds.append(id);
    m_pendingIds.insert(id);
    // "All"'s count of live ones, and the timer that makes the node a row.
    onChanged({});
}

void ConnectionsModel::insertPending() {
    if (m_inserting || m_pendingAdds.isEmpty())
        return;
    m_inserting = true;
    m_lastInsert.start();
    const QList<quint32> added = std::exchange(m_pendingAdds, {});
    m_pendingIds.clear();
    // A parent comes before its children in `added`, so its group comes first too.
    QList<quint32> parents;
    QHash<quint32, QList<quint32>> groups;
    for (const quint32 id : added) {
        const EndpointInfo *info = m_hub->info(id);
        if (!info || m_position.contains(id))
            continue;
        auto group = groups.find(info->parentId);
        if (group == groups.end()) {
            parents.append(info->parentId);
            group = groups.insert(info->parentId, {});
        }
        group->append(id);
    }
    for (const quint32 parentId : parents) {
        const QList<quint32> &ids = groups[parentId];
        const QModelIndex parentIndex = parentId == 0 ? QModelIndex() : indexOf(parentId);
        if (parentId != 0 && !parentIndex.isValid())
            continue;
        QList<quint32> &siblings = childrenOf(parentId);
        // Top-level rows come after the "All" node.
        const int row = int(siblings.size()) + (parentId == 0 ? 1 : 0);
        beginInsertRows(parentIndex, row, row + int(ids.size()) - 1);
        for (const quint32 id : ids) {
            m_position.insert(id, int(siblings.size()));
            siblings.append(id);
        }
        endInsertRows();
        // Its count of children.
        if (parentId != 0) {
            m_changed.insert(parentId);
            m_changePending = true;
        }
    }
    m_inserting = false;
}

void ConnectionsModel::onChanged(const QList<quint32> &ids) {
    for (const quint32 id : ids)
        m_changed.insert(id);
    m_changePending = true;
    if (!m_changeTimer.isActive())
        m_changeTimer.start();
}

int ConnectionsModel::insertIntervalForLayout(qint64 layoutNs) {
    const qint64 milliseconds = layoutNs * LayoutShareDivisor / 1'000'000;
    return int(std::clamp<qint64>(milliseconds, ChangeCoalescingMs, MaxInsertIntervalMs));
}

void ConnectionsModel::setInsertIntervalMs(int milliseconds) {
    m_insertIntervalMs = std::clamp(milliseconds, ChangeCoalescingMs, MaxInsertIntervalMs);
    // A shorter interval may have come due already.
    if (m_insertTimer.isActive())
        m_insertTimer.start(int(std::max<qint64>(insertWaitMs(), 1)));
}

qint64 ConnectionsModel::insertWaitMs() const {
    if (!m_lastInsert.isValid())
        return 0;
    return std::max<qint64>(0, m_insertIntervalMs - m_lastInsert.elapsed());
}

void ConnectionsModel::onChangeTimer() {
    const qint64 wait = m_pendingAdds.isEmpty() ? 0 : insertWaitMs();
    if (wait == 0) {
        flushChanges();
        return;
    }
    if (!m_insertTimer.isActive())
        m_insertTimer.start(int(wait));
    if (std::exchange(m_changePending, false))
        emitChanged(std::exchange(m_changed, {}));
}

void ConnectionsModel::flushChanges() {
    m_changeTimer.stop();
    m_insertTimer.stop();
    insertPending();
    if (!std::exchange(m_changePending, false))
        return;
    emitChanged(std::exchange(m_changed, {}));
}

void ConnectionsModel::emitChanged(const QSet<quint32> &ids) {
    // Below a parent: the first and last position changed, and whether the name
    // column of any of them changed.
    struct Span {
        int first = 0;
        int last = 0;
        bool name = false;
    };
    QHash<quint32, Span> spans;
    for (const quint32 id : ids) {
        const EndpointInfo *info = m_hub->info(id);
        const auto found = m_position.constFind(id);
        if (!info || found == m_position.constEnd())
            continue;
        QString shown = nameText(*info) + QChar(u'\x1f') + QString::number(iconKey(*info));
        QString &told = m_nameShown[id];
        const bool nameChanged = told != shown;
        if (nameChanged)
            told = std::move(shown);
        const auto span = spans.find(info->parentId);
        if (span == spans.end())
            spans.insert(info->parentId, {*found, *found, nameChanged});
        else
            *span = {std::min(span->first, *found), std::max(span->last, *found),
                     span->name || nameChanged};
    }
    for (auto it = spans.cbegin(); it != spans.cend(); ++it) {
        const quint32 parentId = it.key();
        const QModelIndex parentIndex = parentId == 0 ? QModelIndex() : indexOf(parentId);
        if (parentId != 0 && !parentIndex.isValid())
            continue;
        // Top-level rows come after the "All" node.
        const int offset = parentId == 0 ? 1 : 0;
        emit dataChanged(
            index(it->first + offset, it->name ? NameColumn : StateColumn, parentIndex),
            index(it->last + offset, ColumnCount - 1, parentIndex));
    }
    // "All connections" keeps its name: only its counts change.
    emit dataChanged(allIndex().siblingAtColumn(StateColumn),
                     allIndex().siblingAtColumn(ColumnCount - 1));
}

void ConnectionsModel::onAboutToBeRemoved(const QList<quint32> &ids) {
    // Beyond this many runs of rows, one rebuild costs the views less than the runs.
    constexpr int MaxRuns = 64;
    const QSet<quint32> gone(ids.cbegin(), ids.cend());
    // The rows by parent, but not those whose parent goes too: they go with it.
    QList<quint32> parents;
    QHash<quint32, QList<int>> positions;
    for (const quint32 id : ids) {
        const auto position = m_position.constFind(id);
        const EndpointInfo *info = m_hub->info(id);
        if (position == m_position.constEnd() || !info || gone.contains(info->parentId))
            continue;
        auto group = positions.find(info->parentId);
        if (group == positions.end()) {
            parents.append(info->parentId);
            group = positions.insert(info->parentId, {});
        }
        group->append(*position);
    }
    int runs = 0;
    for (QList<int> &group : positions) {
        std::sort(group.begin(), group.end(), std::greater<>());
        for (qsizetype i = 0; i < group.size(); ++i)
            runs += (i == 0 || group[i] != group[i - 1] - 1) ? 1 : 0;
    }
    if (runs > MaxRuns) {
        m_rebuildOnRemoved = true;
        return;
    }
    for (const quint32 parentId : std::as_const(parents)) {
        const QList<int> &group = positions[parentId]; // descending
        const QModelIndex parentIndex = parentId == 0 ? QModelIndex() : indexOf(parentId);
        QList<quint32> &siblings = childrenOf(parentId);
        // Top-level rows come after the "All" node.
        const int offset = parentId == 0 ? 1 : 0;
        for (qsizetype i = 0; i < group.size();) {
            const int last = group[i];
            int first = last;
            while (++i < group.size() && group[i] == first - 1)
                first = group[i];
            beginRemoveRows(parentIndex, first + offset, last + offset);
            siblings.remove(first, last - first + 1);
            // The views ask for parents as the rows go: the positions after them are right.
            for (qsizetype position = first; position < siblings.size(); ++position)
                m_position[siblings[position]] = int(position);
            endRemoveRows();
        }
        // Its count of children.
        if (parentId != 0) {
            m_changed.insert(parentId);
            m_changePending = true;
        }
    }
    for (const quint32 id : ids) {
        m_position.remove(id);
        m_children.remove(id);
        m_changed.remove(id);
        m_nameShown.remove(id);
        if (m_pendingIds.remove(id))
            m_pendingAdds.removeOne(id);
    }
    if (m_changePending && !m_changeTimer.isActive())
        m_changeTimer.start();
}

void ConnectionsModel::onRemoved(const QList<quint32> &) {
    if (!std::exchange(m_rebuildOnRemoved, false))
        return;
    // The hub has forgotten them already: the tree is rebuilt from what it still has.
    m_changeTimer.stop();
    m_insertTimer.stop();
    m_changed.clear();
    m_changePending = false;
    // The rebuild takes the waiting nodes the hub still has.
    m_pendingAdds.clear();
    m_pendingIds.clear();
    m_nameShown.clear();
    beginResetModel();
    m_topLevel.clear();
    m_children.clear();
    m_position.clear();
    for (const quint32 id : m_hub->ids()) {
        const EndpointInfo *info = m_hub->info(id);
        QList<quint32> &siblings = childrenOf(info->parentId);
        m_position.insert(id, int(siblings.size()));
        siblings.append(id);
    }
    endResetModel();
}

} // namespace ws
