#include "widgets/misbehavioureditor.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>

#include <limits>

namespace ws {

namespace {

constexpr int IntMax = std::numeric_limits<int>::max();

QSpinBox *spin(QWidget *parent, int min, int max, const QString &suffix, const QString &off) {
    auto *box = new QSpinBox(parent);
    box->setRange(min, max);
    box->setSuffix(suffix);
    if (!off.isEmpty())
        box->setSpecialValueText(off);
    box->setAccelerated(true);
    return box;
}

QHBoxLayout *row(std::initializer_list<QWidget *> widgets) {
    auto *layout = new QHBoxLayout;
    layout->setContentsMargins(0, 0, 0, 0);
    for (QWidget *widget : widgets)
        layout->addWidget(widget, 1);
    return layout;
}

// "Name: value; Name: value", as the refusal's header fields are typed.
QList<QPair<QByteArray, QByteArray>> parseHeaders(const QString &text) {
    QList<QPair<QByteArray, QByteArray>> headers;
    for (const QString &field : text.split(QLatin1Char(';'), Qt::SkipEmptyParts)) {
        const qsizetype colon = field.indexOf(QLatin1Char(':'));
        if (colon <= 0)
            continue;
        const QByteArray name = field.first(colon).trimmed().toUtf8();
        if (!name.isEmpty() && !name.contains(' '))
            headers.append({name, field.sliced(colon + 1).trimmed().toUtf8()});
    }
    return headers;
}

QString formatHeaders(const QList<QPair<QByteArray, QByteArray>> &headers) {
    QStringList fields;
    for (const auto &[name, value] : headers)
        fields.append(QString::fromUtf8(name + ": " + value));
    return fields.join(QStringLiteral("; "));
}

} // namespace

MisbehaviourEditor::MisbehaviourEditor(QWidget *parent)
    : QWidget(parent)
    , m_delayMin(spin(this, 0, IntMax, tr(" ms"), tr("off")))
    , m_delayMax(spin(this, 0, IntMax, tr(" ms"), tr("= min")))
    , m_handshakeDelay(spin(this, 0, IntMax, tr(" ms"), tr("off")))
    , m_fragment(spin(this, 0, IntMax, tr(" bytes"), tr("off")))
    , m_pingBetween(new QCheckBox(tr("ping between"), this))
    , m_pong(new QComboBox(this))
    , m_pongDelay(spin(this, 1, IntMax, tr(" ms"), {}))
    , m_readRate(spin(this, 0, IntMax, tr(" bytes/s"), tr("no cap")))
    , m_stopReading(spin(this, 0, IntMax, tr(" messages"), tr("never")))
    , m_closeMessages(spin(this, 0, IntMax, tr(" messages"), tr("never")))
    , m_closeMs(spin(this, 0, IntMax, tr(" ms"), tr("never")))
    , m_closeStyle(new QComboBox(this))
    , m_closeCode(spin(this, 0, 65535, {}, {}))
    , m_closeReason(new QLineEdit(this))
    , m_badFrame(new QComboBox(this))
    , m_badFrameAfter(spin(this, 0, IntMax, tr(" messages"), tr("at once")))
    , m_refuseStatus(spin(this, 0, 599, {}, tr("accept")))
    , m_refuseHeaders(new QLineEdit(this))
    , m_refuseBody(new QLineEdit(this))
    , m_badUpgrade(new QComboBox(this))
    , m_ticker(spin(this, 0, IntMax, tr(" ms"), tr("off")))
    , m_burstCount(spin(this, 0, IntMax, tr(" messages"), tr("off")))
    , m_burstSize(spin(this, 0, 64 * 1024 * 1024, tr(" bytes"), {})) {
    m_delayMin->setToolTip(tr("Every reply waits this long (or between min and max, drawn for each "
                              "reply); replies keep their order"));
    m_delayMax->setToolTip(tr("The upper bound of a jittered delay"));
    m_handshakeDelay->setToolTip(tr("The answer to the opening handshake waits this long"));
    m_fragment->setToolTip(tr("Every message the server sends goes out in frames of at most "
                              "this many payload bytes"));
    m_pingBetween->setToolTip(tr("A ping between the fragments of a message"));
    m_pong->addItem(tr("answered"), int(Misbehaviour::PongStyle::Normal));
    m_pong->addItem(tr("withheld"), int(Misbehaviour::PongStyle::Withhold));
    m_pong->addItem(tr("delayed"), int(Misbehaviour::PongStyle::Delay));
    m_pong->addItem(tr("wrong payload"), int(Misbehaviour::PongStyle::Wrong));
    m_pongDelay->setValue(1000);
    m_readRate->setToolTip(tr("Read at most this many bytes per second from each client"));
    m_stopReading->setToolTip(tr("Stop reading from a client after this many messages, so "
                                 "that its send buffer fills"));
    m_closeStyle->addItem(tr("clean, with code and reason"), int(Misbehaviour::CloseStyle::Clean));
    m_closeStyle->addItem(tr("close frame, no wait"), int(Misbehaviour::CloseStyle::NoWait));
    m_closeStyle->addItem(tr("TCP FIN, no close frame"), int(Misbehaviour::CloseStyle::Fin));
    m_closeStyle->addItem(tr("TCP reset (RST)"), int(Misbehaviour::CloseStyle::Reset));
    m_closeCode->setValue(1000);
    m_closeReason->setPlaceholderText(tr("close reason"));
    m_closeReason->setMaxLength(123);
    m_badFrame->addItem(tr("none"), int(Misbehaviour::BadFrame::None));
    for (const QString &name : badFrameNames())
        m_badFrame->addItem(name, int(*badFrameFromName(name)));
    m_badFrame->setToolTip(tr("One frame that breaks RFC 6455, after the given number of "
                              "messages from the client"));
    m_refuseStatus->setToolTip(tr("Refuse every opening handshake with this HTTP status"));
    m_refuseHeaders->setPlaceholderText(tr("Retry-After: 5; X-Reason: test"));
    m_refuseBody->setPlaceholderText(tr("body of the refusal"));
    m_badUpgrade->addItem(tr("correct"), int(Misbehaviour::BadUpgrade::None));
    m_badUpgrade->addItem(tr("wrong Sec-WebSocket-Accept"),
                          int(Misbehaviour::BadUpgrade::BadAccept));
    m_badUpgrade->addItem(tr("extension not offered"),
                          int(Misbehaviour::BadUpgrade::UnofferedExtension));
    m_badUpgrade->addItem(tr("subprotocol not offered"),
                          int(Misbehaviour::BadUpgrade::UnofferedSubprotocol));
    m_badUpgrade->addItem(tr("no Upgrade header"), int(Misbehaviour::BadUpgrade::MissingUpgrade));
    m_ticker->setToolTip(tr("A JSON message with a counter and a timestamp this often"));
    m_burstCount->setToolTip(tr("This many messages once the client is open, as fast as the "
                                "client takes them"));
    m_burstSize->setValue(1024);

    auto *form = new QFormLayout(this);
    form->setContentsMargins(0, 0, 0, 0);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->addRow(tr("Reply delay:"), row({m_delayMin, m_delayMax}));
    form->addRow(tr("Handshake delay:"), m_handshakeDelay);
    form->addRow(tr("Fragments:"), row({m_fragment, m_pingBetween}));
    form->addRow(tr("Pongs:"), row({m_pong, m_pongDelay}));
    form->addRow(tr("Read rate:"), m_readRate);
    form->addRow(tr("Stop reading after:"), m_stopReading);
    form->addRow(tr("Close after:"), row({m_closeMessages, m_closeMs}));
    form->addRow(tr("Close how:"), row({m_closeStyle, m_closeCode}));
    form->addRow(tr("Close reason:"), m_closeReason);
    form->addRow(tr("Bad frame:"), row({m_badFrame, m_badFrameAfter}));
    form->addRow(tr("Refuse with:"), m_refuseStatus);
    form->addRow(tr("Refusal headers:"), m_refuseHeaders);
    form->addRow(tr("Refusal body:"), m_refuseBody);
    form->addRow(tr("101 answer:"), m_badUpgrade);
    form->addRow(tr("Ticker:"), m_ticker);
    form->addRow(tr("Burst:"), row({m_burstCount, m_burstSize}));

    const auto edited = [this] {
        updateEnabled();
        emit changed();
    };
    for (QSpinBox *box : findChildren<QSpinBox *>())
        connect(box, &QSpinBox::valueChanged, this, edited);
    for (QComboBox *box : findChildren<QComboBox *>())
        connect(box, &QComboBox::currentIndexChanged, this, edited);
    for (QLineEdit *edit : findChildren<QLineEdit *>(Qt::FindDirectChildrenOnly))
        connect(edit, &QLineEdit::textChanged, this, edited);
    connect(m_pingBetween, &QCheckBox::toggled, this, edited);
    updateEnabled();
}

Misbehaviour MisbehaviourEditor::misbehaviour() const {
    Misbehaviour m;
    m.replyDelayMinMs = m_delayMin->value();
    m.replyDelayMaxMs = std::max(m_delayMin->value(), m_delayMax->value());
    m.handshakeDelayMs = m_handshakeDelay->value();
    m.fragmentSize = m_fragment->value();
    m.pingBetweenFragments = m.fragmentSize > 0 && m_pingBetween->isChecked();
    m.pong = Misbehaviour::PongStyle(m_pong->currentData().toInt());
    if (m.pong == Misbehaviour::PongStyle::Delay)
        m.pongDelayMs = m_pongDelay->value();
    m.readBytesPerSecond = m_readRate->value();
    m.stopReadingAfter = m_stopReading->value();
    m.closeAfterMessages = m_closeMessages->value();
    m.closeAfterMs = m_closeMs->value();
    if (m.closeAfterMessages > 0 || m.closeAfterMs > 0) {
        m.closeStyle = Misbehaviour::CloseStyle(m_closeStyle->currentData().toInt());
        if (m.closeStyle == Misbehaviour::CloseStyle::Clean ||
            m.closeStyle == Misbehaviour::CloseStyle::NoWait) {
            m.closeCode = quint16(m_closeCode->value());
            m.closeReason = m_closeReason->text();
        }
    }
    m.badFrame = Misbehaviour::BadFrame(m_badFrame->currentData().toInt());
    if (m.badFrame != Misbehaviour::BadFrame::None)
        m.badFrameAfter = m_badFrameAfter->value();
    m.refuseStatus = m_refuseStatus->value() >= 100 && m_refuseStatus->value() != 101
                         ? m_refuseStatus->value()
                         : 0;
    if (m.refuseStatus > 0) {
        m.refuseHeaders = parseHeaders(m_refuseHeaders->text());
        m.refuseBody = m_refuseBody->text().toUtf8();
    } else {
        m.badUpgrade = Misbehaviour::BadUpgrade(m_badUpgrade->currentData().toInt());
    }
    m.tickerMs = m_ticker->value();
    m.burstCount = m_burstCount->value();
    if (m.burstCount > 0)
        m.burstSize = m_burstSize->value();
    return m;
}

void MisbehaviourEditor::setMisbehaviour(const Misbehaviour &m) {
    const QSignalBlocker blocker(this);
    m_delayMin->setValue(m.replyDelayMinMs);
    m_delayMax->setValue(m.replyDelayMaxMs == m.replyDelayMinMs ? 0 : m.replyDelayMaxMs);
    m_handshakeDelay->setValue(m.handshakeDelayMs);
    m_fragment->setValue(int(std::min<qint64>(m.fragmentSize, IntMax)));
    m_pingBetween->setChecked(m.pingBetweenFragments);
    m_pong->setCurrentIndex(m_pong->findData(int(m.pong)));
    if (m.pongDelayMs > 0)
        m_pongDelay->setValue(m.pongDelayMs);
    m_readRate->setValue(int(std::min<qint64>(m.readBytesPerSecond, IntMax)));
    m_stopReading->setValue(m.stopReadingAfter);
    m_closeMessages->setValue(m.closeAfterMessages);
    m_closeMs->setValue(m.closeAfterMs);
    m_closeStyle->setCurrentIndex(m_closeStyle->findData(int(m.closeStyle)));
    m_closeCode->setValue(m.closeCode);
    m_closeReason->setText(m.closeReason);
    m_badFrame->setCurrentIndex(m_badFrame->findData(int(m.badFrame)));
    m_badFrameAfter->setValue(m.badFrameAfter);
    m_refuseStatus->setValue(m.refuseStatus);
    m_refuseHeaders->setText(formatHeaders(m.refuseHeaders));
    m_refuseBody->setText(QString::fromUtf8(m.refuseBody));
    m_badUpgrade->setCurrentIndex(m_badUpgrade->findData(int(m.badUpgrade)));
    m_ticker->setValue(m.tickerMs);
    m_burstCount->setValue(m.burstCount);
    if (m.burstSize > 0)
        m_burstSize->setValue(int(std::min<qint64>(m.burstSize, m_burstSize->maximum())));
    updateEnabled();
}

void MisbehaviourEditor::updateEnabled() {
    m_delayMax->setEnabled(m_delayMin->value() > 0);
    m_pingBetween->setEnabled(m_fragment->value() > 0);
    m_pongDelay->setEnabled(m_pong->currentData().toInt() == int(Misbehaviour::PongStyle::Delay));
    const bool closes = m_closeMessages->value() > 0 || m_closeMs->value() > 0;
    const auto style = Misbehaviour::CloseStyle(m_closeStyle->currentData().toInt());
    const bool framed =
        style == Misbehaviour::CloseStyle::Clean || style == Misbehaviour::CloseStyle::NoWait;
    m_closeStyle->setEnabled(closes);
    m_closeCode->setEnabled(closes && framed);
    m_closeReason->setEnabled(closes && framed);
    m_badFrameAfter->setEnabled(m_badFrame->currentData().toInt() !=
                                int(Misbehaviour::BadFrame::None));
    const bool refuses = m_refuseStatus->value() > 0;
    m_refuseHeaders->setEnabled(refuses);
    m_refuseBody->setEnabled(refuses);
    m_badUpgrade->setEnabled(!refuses);
    m_burstSize->setEnabled(m_burstCount->value() > 0);
}

QVariantMap misbehaviourToMap(const Misbehaviour &m) {
    QVariantMap map;
    const Misbehaviour off;
    const auto put = [&map](const char *key, const QVariant &value, bool isDefault) {
        if (!isDefault)
            map.insert(QLatin1String(key), value);
    };
    put("replyDelayMinMs", m.replyDelayMinMs, m.replyDelayMinMs == off.replyDelayMinMs);
    put("replyDelayMaxMs", m.replyDelayMaxMs, m.replyDelayMaxMs == off.replyDelayMaxMs);
    put("handshakeDelayMs", m.handshakeDelayMs, m.handshakeDelayMs == off.handshakeDelayMs);
    put("fragmentSize", m.fragmentSize, m.fragmentSize == off.fragmentSize);
    put("pingBetweenFragments", m.pingBetweenFragments, !m.pingBetweenFragments);
    put("pong", QLatin1String(pongStyleName(m.pong)), m.pong == off.pong);
    put("pongDelayMs", m.pongDelayMs, m.pongDelayMs == off.pongDelayMs);
    put("readBytesPerSecond", m.readBytesPerSecond, m.readBytesPerSecond == 0);
    put("stopReadingAfter", m.stopReadingAfter, m.stopReadingAfter == 0);
    put("closeAfterMessages", m.closeAfterMessages, m.closeAfterMessages == 0);
    put("closeAfterMs", m.closeAfterMs, m.closeAfterMs == 0);
    put("closeStyle", QLatin1String(closeStyleName(m.closeStyle)), m.closeStyle == off.closeStyle);
    put("closeCode", m.closeCode, m.closeCode == off.closeCode);
    put("closeReason", m.closeReason, m.closeReason.isEmpty());
    put("badFrame", QLatin1String(badFrameName(m.badFrame)), m.badFrame == off.badFrame);
    put("badFrameAfter", m.badFrameAfter, m.badFrameAfter == 0);
    put("refuseStatus", m.refuseStatus, m.refuseStatus == 0);
    put("refuseHeaders", formatHeaders(m.refuseHeaders), m.refuseHeaders.isEmpty());
    put("refuseBody", QString::fromUtf8(m.refuseBody), m.refuseBody.isEmpty());
    put("badUpgrade", QLatin1String(badUpgradeName(m.badUpgrade)), m.badUpgrade == off.badUpgrade);
    put("tickerMs", m.tickerMs, m.tickerMs == 0);
    put("burstCount", m.burstCount, m.burstCount == 0);
    put("burstSize", m.burstSize, m.burstSize == 0);
    return map;
}

Misbehaviour misbehaviourFromMap(const QVariantMap &map) {
    Misbehaviour m;
    const auto number = [&map](const char *key, qint64 fallback, qint64 min, qint64 max) {
        bool ok = false;
        const qint64 value = map.value(QLatin1String(key)).toLongLong(&ok);
        return ok && value >= min && value <= max ? value : fallback;
    };
    m.replyDelayMinMs = int(number("replyDelayMinMs", 0, 0, IntMax));
    m.replyDelayMaxMs = int(number("replyDelayMaxMs", 0, m.replyDelayMinMs, IntMax));
    m.handshakeDelayMs = int(number("handshakeDelayMs", 0, 0, IntMax));
    m.fragmentSize = number("fragmentSize", 0, 0, IntMax);
    m.pingBetweenFragments = map.value(QStringLiteral("pingBetweenFragments")).toBool();
    const QString pong = map.value(QStringLiteral("pong")).toString();
    for (const auto style : {Misbehaviour::PongStyle::Withhold, Misbehaviour::PongStyle::Delay,
                             Misbehaviour::PongStyle::Wrong}) {
        if (pong == QLatin1String(pongStyleName(style)))
            m.pong = style;
    }
    m.pongDelayMs = int(number("pongDelayMs", 0, 0, IntMax));
    m.readBytesPerSecond = number("readBytesPerSecond", 0, 0, IntMax);
    m.stopReadingAfter = int(number("stopReadingAfter", 0, 0, IntMax));
    m.closeAfterMessages = int(number("closeAfterMessages", 0, 0, IntMax));
    m.closeAfterMs = int(number("closeAfterMs", 0, 0, IntMax));
    m.closeStyle = closeStyleFromName(map.value(QStringLiteral("closeStyle")).toString())
                       .value_or(Misbehaviour::CloseStyle::Clean);
    m.closeCode = quint16(number("closeCode", 1000, 0, 65535));
    m.closeReason = map.value(QStringLiteral("closeReason")).toString();
    m.badFrame = badFrameFromName(map.value(QStringLiteral("badFrame")).toString())
                     .value_or(Misbehaviour::BadFrame::None);
    m.badFrameAfter = int(number("badFrameAfter", 0, 0, IntMax));
    m.refuseStatus = int(number("refuseStatus", 0, 0, 599));
    m.refuseHeaders = parseHeaders(map.value(QStringLiteral("refuseHeaders")).toString());
    m.refuseBody = map.value(QStringLiteral("refuseBody")).toString().toUtf8();
    m.badUpgrade = badUpgradeFromName(map.value(QStringLiteral("badUpgrade")).toString())
                       .value_or(Misbehaviour::BadUpgrade::None);
    m.tickerMs = int(number("tickerMs", 0, 0, IntMax));
    m.burstCount = int(number("burstCount", 0, 0, IntMax));
    m.burstSize = number("burstSize", 0, 0, 64 * 1024 * 1024);
    return m;
}

} // namespace ws
