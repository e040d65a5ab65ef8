#pragma once

#include <QWidget>

class QLabel;
class QProgressBar;
class QPushButton;

namespace ws {

class ReplayController;

// The small bar under the Connections tree while a replay runs: which connection,
// a progress bar over the recorded steps, Pause/Resume and Stop. Hidden otherwise;
// it stays with the outcome once the replay is over, until the next one.
class ReplayBar : public QWidget {
    Q_OBJECT
public:
    explicit ReplayBar(ReplayController *controller, QWidget *parent = nullptr);

    QProgressBar *progressBar() const { return m_progress; }
    QPushButton *pauseButton() const { return m_pause; }
    QPushButton *stopButton() const { return m_stop; }
    // After a replay: its messages beside the recording's, in the session diff.
    QPushButton *compareButton() const { return m_compare; }
    QLabel *label() const { return m_label; }

signals:
    void compareRequested(quint32 recordedId, quint32 replayId);

private:
    ReplayController *m_controller;
    QLabel *m_label;
    QProgressBar *m_progress;
    QPushButton *m_pause;
    QPushButton *m_stop;
    QPushButton *m_compare;
};

} // namespace ws
