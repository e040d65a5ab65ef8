#include "widgets/replaybar.h"

#include "controllers/replaycontroller.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>

namespace ws {

ReplayBar::ReplayBar(ReplayController *controller, QWidget *parent)
    : QWidget(parent)
    , m_controller(controller)
    , m_label(new QLabel(this))
    , m_progress(new QProgressBar(this))
    , m_pause(new QPushButton(tr("Pause"), this))
    , m_stop(new QPushButton(tr("Stop"), this))
    , m_compare(new QPushButton(tr("Compare with recording"), this)) {
    setObjectName(QStringLiteral("replayBar"));
    m_progress->setFormat(tr("%v of %m steps"));
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(4, 2, 4, 2);
    layout->addWidget(m_label);
    layout->addWidget(m_progress, 1);
    layout->addWidget(m_pause);
    layout->addWidget(m_stop);
    layout->addWidget(m_compare);
    m_compare->setToolTip(tr("The replay's messages beside the recorded ones, message by message"));
    m_compare->hide();
    hide();
    connect(controller, &ReplayController::started, this, [this](quint32 id, int steps) {
        Q_UNUSED(id);
        m_label->setText(tr("Replaying"));
        m_progress->setRange(0, std::max(steps, 1));
        m_progress->setValue(0);
        m_pause->setText(tr("Pause"));
        m_pause->setEnabled(true);
        m_stop->setEnabled(true);
        m_compare->hide();
        show();
    });
    connect(controller, &ReplayController::progress, this, [this](int taken, int total) {
        m_progress->setRange(0, std::max(total, 1));
        m_progress->setValue(taken);
    });
    connect(controller, &ReplayController::pausedChanged, this, [this](bool paused) {
        m_pause->setText(paused ? tr("Resume") : tr("Pause"));
        m_label->setText(paused ? tr("Paused") : tr("Replaying"));
    });
    connect(controller, &ReplayController::finished, this,
            [this](const replay::ReplayResult &result) {
                m_pause->setEnabled(false);
                m_stop->setEnabled(false);
                m_compare->show();
                m_label->setText(result.completed() ? tr("Replay completed")
                                 : result.stopped   ? tr("Replay stopped")
                                                    : tr("Replay incomplete"));
            });
    connect(m_pause, &QPushButton::clicked, this, [this] {
        if (m_controller->player() && m_controller->player()->isPaused())
            m_controller->resume();
        else
            m_controller->pause();
    });
    connect(m_stop, &QPushButton::clicked, m_controller, &ReplayController::stop);
    connect(m_compare, &QPushButton::clicked, this,
            [this] { emit compareRequested(m_controller->sourceId(), m_controller->replayId()); });
}

} // namespace ws
