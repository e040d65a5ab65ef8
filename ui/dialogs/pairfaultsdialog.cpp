#include "pairfaultsdialog.h"

#include "widgets/relayfaultsedit.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QLabel>
#include <QVBoxLayout>

namespace ws {

PairFaultsDialog::PairFaultsDialog(const QString &pairName, const std::optional<RelayFaults> &own,
                                   const RelayFaults &relayFaults, QWidget *parent)
    : QDialog(parent)
    , m_useRelay(new QCheckBox(tr("Use the relay's faults"), this))
    , m_edit(new RelayFaultsEdit(this))
    , m_buttons(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this)) {
    setWindowTitle(tr("Faults for %1").arg(pairName));
    auto *intro = new QLabel(tr("Faults for %1 alone, instead of the relay's: they apply from "
                                "its next message on, and its legs' log says so.")
                                 .arg(pairName),
                             this);
    intro->setWordWrap(true);
    m_useRelay->setChecked(!own);
    m_useRelay->setToolTip(tr("The pair follows the Relay panel's faults again"));
    m_edit->setFaults(own.value_or(relayFaults));
    m_edit->setEnabled(own.has_value());
    connect(m_useRelay, &QCheckBox::toggled, m_edit,
            [this](bool useRelay) { m_edit->setEnabled(!useRelay); });
    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addWidget(m_useRelay);
    layout->addWidget(m_edit);
    layout->addWidget(m_buttons);
}

std::optional<RelayFaults> PairFaultsDialog::pairFaults() const {
    if (m_useRelay->isChecked())
        return std::nullopt;
    return m_edit->faults();
}

} // namespace ws
