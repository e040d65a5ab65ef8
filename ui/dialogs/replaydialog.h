#pragma once

#include "controllers/replaycontroller.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QLineEdit;

namespace ws {

// "Replay…": the target URL (the recorded one prefilled), the speed and whether to
// wait for the replies.
class ReplayDialog : public QDialog {
    Q_OBJECT
public:
    ReplayDialog(const QString &connectionName, const QUrl &recordedUrl, QWidget *parent = nullptr);

    // nullopt while the input is not a replay (a bad URL or speed).
    std::optional<ReplaySettings> settings() const;

    QLineEdit *urlEdit() const { return m_url; }
    QComboBox *speedBox() const { return m_speed; }
    QCheckBox *waitRepliesBox() const { return m_waitReplies; }

private:
    QLineEdit *m_url;
    QComboBox *m_speed;
    QCheckBox *m_waitReplies;
};

} // namespace ws
