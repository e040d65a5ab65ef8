#pragma once

#include "log/sessiondiff.h"

#include <QDateTime>
#include <QString>
#include <QStringList>
#include <QWidget>

#include <optional>

class QAction;
class QCheckBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTableView;

namespace ws {

class SessionDiffModel;

// Two recorded sessions side by side: the rows of `wsw diff` in two aligned columns,
// coloured by what each pair is, with the selected pair's details (the JSON paths
// that differ, both payloads) below. The ignored paths, control frames and the
// timing threshold are edited in place and the diff re-run.
class SessionDiffWindow : public QWidget {
    Q_OBJECT
public:
    explicit SessionDiffWindow(QWidget *parent = nullptr);
    ~SessionDiffWindow() override;

    void setFiles(const QString &a, const QString &b);
    // Compares connections `a` and `b` of a log held in memory (the window's own,
    // e.g. a replay and the connection it replayed) instead of two files; false
    // (errorText() says why) when one has no messages. The store is read here only.
    bool setConnections(const log::LogStore &store, quint32 a, quint32 b);
    // Paths as --ignore takes them; shown in the edit separated by spaces.
    void setIgnorePaths(const QStringList &paths);
    QStringList ignorePaths() const;
    // Reads the files when they changed, runs the diff and selects the first
    // difference. False (errorText() says why, and the window shows it) when a file
    // could not be read or a path is malformed.
    bool compare();

    QString errorText() const { return m_error; }
    SessionDiffModel *model() const { return m_model; }
    QTableView *table() const { return m_table; }
    QLineEdit *ignoreEdit() const { return m_ignore; }
    QCheckBox *controlBox() const { return m_control; }
    QSpinBox *timingBox() const { return m_timing; }
    QPushButton *compareButton() const { return m_compareButton; }
    QAction *nextDifferenceAction() const { return m_next; }
    QAction *previousDifferenceAction() const { return m_previous; }
    QPlainTextEdit *detailView() const { return m_detail; }
    QLabel *summaryLabel() const { return m_summary; }
    // Which connection of each file is compared.
    QLabel *sourcesLabel() const { return m_sources; }
    // The selected row, or -1.
    int currentRow() const;

    // Splits what the ignore edit holds into paths: separated by spaces or commas,
    // except inside brackets and quotes ($['a b'] is one path).
    static QStringList splitPaths(const QString &text);

private:
    void browse(QLineEdit *edit);
    void goToDifference(bool forward);
    void showDetail();
    void showError(const QString &error);
    void updateNavigation();

    QLineEdit *m_fileA = nullptr;
    QLineEdit *m_fileB = nullptr;
    QLineEdit *m_ignore = nullptr;
    QCheckBox *m_control = nullptr;
    QSpinBox *m_timing = nullptr;
    QPushButton *m_compareButton = nullptr;
    QLabel *m_summary = nullptr;
    QLabel *m_sources = nullptr;
    QTableView *m_table = nullptr;
    QPlainTextEdit *m_detail = nullptr;
    QAction *m_next = nullptr;
    QAction *m_previous = nullptr;
    SessionDiffModel *m_model = nullptr;
    QString m_error;
    // What was last read, so that re-running with other options does not read again.
    struct Loaded {
        QString path;
        bool control = false;
        QDateTime modified;
        qint64 size = 0;
        log::RecordedSession session;
    };
    std::optional<Loaded> m_loadedA;
    std::optional<Loaded> m_loadedB;
    // setConnections(): each side without and with control frames.
    struct Given {
        log::RecordedSession messages;
        log::RecordedSession withControl;
    };
    std::optional<Given> m_givenA;
    std::optional<Given> m_givenB;
};

} // namespace ws
