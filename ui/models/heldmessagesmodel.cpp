#include "heldmessagesmodel.h"

#include "relay/relay.h"

#include <QBrush>
#include <QColor>
#include <QFont>

namespace ws {

namespace {

// A held message waits for the user: it stands out from those only queued behind it.
const QColor HeldBackground(0xFF, 0xF3, 0xE0);

} // namespace

HeldMessagesModel::HeldMessagesModel(QObject *parent)
    : QAbstractTableModel(parent) {
    m_refresh.setSingleShot(true);
    m_refresh.setInterval(0);
    connect(&m_refresh, &QTimer::timeout, this, &HeldMessagesModel::refresh);
}

void HeldMessagesModel::setRelay(Relay *relay) {
    for (const QMetaObject::Connection &connection : std::as_const(m_connections))
        disconnect(connection);
    m_connections.clear();
    m_relay = relay;
    if (relay) {
        m_connections = {
            connect(relay, &Relay::messageHeld, this, &HeldMessagesModel::scheduleRefresh),
            connect(relay, &Relay::heldMessageRemoved, this, &HeldMessagesModel::scheduleRefresh),
            connect(relay, &Relay::heldChanged, this, &HeldMessagesModel::scheduleRefresh),
        };
    }
    refresh();
}

void HeldMessagesModel::scheduleRefresh() {
    if (!m_refresh.isActive())
        m_refresh.start();
}

void HeldMessagesModel::refresh() {
    m_refresh.stop();
    const QList<HeldMessage> messages = m_relay ? m_relay->heldMessages() : QList<HeldMessage>();
    if (messages == m_messages)
        return;
    beginResetModel();
    m_messages = messages;
    endResetModel();
}

const HeldMessage *HeldMessagesModel::message(int row) const {
    return row >= 0 && row < m_messages.size() ? &m_messages[row] : nullptr;
}

int HeldMessagesModel::rowOf(quint64 id) const {
    for (qsizetype row = 0; row < m_messages.size(); ++row) {
        if (m_messages[row].id == id)
            return int(row);
    }
    return -1;
}

log::LogRecord HeldMessagesModel::asLogRecord(const HeldMessage &message) {
    log::LogRecord record;
    record.kind = log::logKindForOpcode(quint8(message.opcode));
    record.payload = message.payload;
    record.length = quint64(message.payload.size());
    // RFC 6455 §5.5.1: a close's first two payload bytes are its status code.
    if (message.opcode == Opcode::Close && message.payload.size() >= 2) {
        record.closeCode = quint16((quint8(message.payload[0]) << 8) | quint8(message.payload[1]));
        record.set(log::LogRecord::HasCloseCode);
    }
    return record;
}

int HeldMessagesModel::rowCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : int(m_messages.size());
}

int HeldMessagesModel::columnCount(const QModelIndex &parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant HeldMessagesModel::data(const QModelIndex &index, int role) const {
    const HeldMessage *m = message(index.row());
    if (!m)
        return {};
    const bool held = m->state == HeldMessage::State::Held;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case IdColumn:
            return held ? QString::number(m->id) : tr("%1 (queued)").arg(m->id);
        case PairColumn:
            return QStringLiteral("#%1").arg(m->pair);
        case DirectionColumn:
            return relayDirectionArrow(m->to);
        case KindColumn: {
            const QString kind =
                QLatin1String(log::logKindName(log::logKindForOpcode(quint8(m->opcode))));
            return m->edited ? tr("%1 (edited)").arg(kind) : kind;
        }
        case LengthColumn:
            return QString::number(m->payload.size());
        case PreviewColumn:
            return log::recordPreview(asLogRecord(*m), nullptr);
        }
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == IdColumn || index.column() == LengthColumn)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case Qt::BackgroundRole:
        return held ? QBrush(HeldBackground) : QVariant();
    case Qt::ToolTipRole:
        return held ? tr("Held by an intercept rule: release, edit or drop it")
                    : tr("Queued behind a held message: it goes once those before it have "
                         "gone");
    case HeldIdRole:
        return QVariant::fromValue(m->id);
    case PairRole:
        return QVariant::fromValue(m->pair);
    case IsHeldRole:
        return held;
    default:
        return {};
    }
}

QVariant HeldMessagesModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case IdColumn:
        return tr("#");
    case PairColumn:
        return tr("Pair");
    case DirectionColumn:
        return tr("Direction");
    case KindColumn:
        return tr("Kind");
    case LengthColumn:
        return tr("Length");
    case PreviewColumn:
        return tr("Payload");
    }
    return {};
}

} // namespace ws
