#include "relayfaultsedit.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QRandomGenerator>
#include <QRegularExpressionValidator>
#include <QSpinBox>
#include <QToolButton>

#include <algorithm>

namespace ws {

RelayFaultsEdit::RelayFaultsEdit(QWidget *parent)
    : QWidget(parent)
    , m_direction(new QComboBox(this))
    , m_latency(new QSpinBox(this))
    , m_jitter(new QSpinBox(this))
    , m_throttle(new QSpinBox(this))
    , m_dropRate(new QDoubleSpinBox(this))
    , m_seed(new QLineEdit(this))
    , m_newSeed(new QToolButton(this)) {
    // Directions are named by the leg a message goes out on, as the relay names them.
    m_direction->addItem(tr("client \u2192 server"), int(RelayLegKind::Server));
    m_direction->addItem(tr("server \u2192 client"), int(RelayLegKind::Client));
    m_latency->setRange(0, 600'000);
    m_latency->setSuffix(tr(" ms"));
    m_latency->setToolTip(tr("Every message goes out no earlier than this after it came"));
    m_jitter->setRange(0, 600'000);
    m_jitter->setPrefix(QStringLiteral("\u00B1 "));
    m_jitter->setSuffix(tr(" ms"));
    m_jitter->setToolTip(tr("Plus or minus up to this, drawn from the seed; order is kept"));
    m_throttle->setRange(0, 1'000'000'000);
    m_throttle->setSpecialValueText(tr("unlimited"));
    m_throttle->setSuffix(tr(" B/s"));
    m_throttle->setToolTip(tr("At most this many payload bytes a second"));
    m_dropRate->setRange(0, 100);
    m_dropRate->setDecimals(1);
    m_dropRate->setSuffix(tr(" %"));
    m_dropRate->setToolTip(tr("This share of data messages is dropped (the log notes each)"));
    m_seed->setObjectName(QStringLiteral("faultSeed"));
    // `wsw relay --seed` takes 0 to 2^63-1.
    m_seed->setValidator(
        new QRegularExpressionValidator(QRegularExpression(QStringLiteral("[0-9]{1,18}")), this));
    m_seed->setToolTip(tr("The jitter and drop draws come from this: the same seed drops and "
                          "delays the same messages (wsw relay --seed N)"));
    m_newSeed->setText(tr("New seed"));
    m_newSeed->setToolTip(tr("Draw another seed"));
    m_seed->setText(QString::number(m_faults.seed));

    auto *form = new QFormLayout(this);
    form->setContentsMargins(0, 0, 0, 0);
    form->addRow(tr("Direction:"), m_direction);
    auto *latencyRow = new QHBoxLayout;
    latencyRow->addWidget(m_latency);
    latencyRow->addWidget(m_jitter);
    form->addRow(tr("Latency:"), latencyRow);
    form->addRow(tr("Throttle:"), m_throttle);
    form->addRow(tr("Drop:"), m_dropRate);
    auto *seedRow = new QHBoxLayout;
    seedRow->addWidget(m_seed, 1);
    seedRow->addWidget(m_newSeed);
    form->addRow(tr("Seed:"), seedRow);

    connect(m_direction, &QComboBox::currentIndexChanged, this, &RelayFaultsEdit::showDirection);
    for (QSpinBox *spin : {m_latency, m_jitter, m_throttle})
        connect(spin, &QSpinBox::valueChanged, this, &RelayFaultsEdit::takeFields);
    connect(m_dropRate, &QDoubleSpinBox::valueChanged, this, &RelayFaultsEdit::takeFields);
    connect(m_seed, &QLineEdit::textEdited, this, [this](const QString &text) {
        bool ok = false;
        const qulonglong seed = text.toULongLong(&ok);
        if (!ok)
            return;
        m_faults.seed = seed;
        emit faultsEdited();
    });
    connect(m_newSeed, &QToolButton::clicked, this, [this] {
        setSeed(drawSeed());
        emit faultsEdited();
    });
    showDirection();
}

void RelayFaultsEdit::setFaults(const RelayFaults &faults) {
    m_faults = faults;
    m_seed->setText(QString::number(m_faults.seed));
    showDirection();
}

void RelayFaultsEdit::setSeed(quint64 seed) {
    m_faults.seed = seed;
    m_seed->setText(QString::number(seed));
}

quint64 RelayFaultsEdit::drawSeed() {
    return QRandomGenerator::global()->bounded(quint64(1), quint64(1'000'000'000));
}

RelayLegKind RelayFaultsEdit::shownDirection() const {
    return RelayLegKind(m_direction->currentData().toInt());
}

void RelayFaultsEdit::showDirection() {
    const RelayDirectionFaults &shown = m_faults.toward(shownDirection());
    m_showing = true;
    m_latency->setValue(shown.latencyMs);
    m_jitter->setValue(shown.jitterMs);
    m_throttle->setValue(int(std::min<qint64>(shown.bytesPerSecond, m_throttle->maximum())));
    m_dropRate->setValue(shown.dropPercent);
    m_showing = false;
}

void RelayFaultsEdit::takeFields() {
    if (m_showing)
        return;
    RelayDirectionFaults &shown = m_faults.toward(shownDirection());
    shown.latencyMs = m_latency->value();
    shown.jitterMs = m_jitter->value();
    shown.bytesPerSecond = m_throttle->value();
    shown.dropPercent = m_dropRate->value();
    emit faultsEdited();
}

} // namespace ws
