#pragma once

#include "log/displayfilter.h"

#include <QLabel>
#include <QLineEdit>
#include <QTimer>

class QAction;
class QCompleter;
class QMenu;
class QStringListModel;

namespace ws {

// The log's display filter field. Every keystroke compiles the text at once (a few
// microseconds) and colours the field: green when it compiles, red with the reason
// (tooltip and statusLabel()) when it does not. The filter itself is applied only
// when typing pauses (filterChanged() after debounceInterval()), or at once on
// Enter, so that typing in a large log never waits for the log.
//
// Filters applied with Enter, or still applied when the field loses focus, are
// kept in QSettings as recent filters: offered by the completer and by the
// field's drop-down menu. The "?" action shows a short syntax help.
class DisplayFilterEdit : public QLineEdit {
    Q_OBJECT
public:
    enum class State { Empty, Valid, Invalid };
    Q_ENUM(State)

    static constexpr int DefaultDebounceMs = 200;
    static constexpr int MaxRecentFilters = 20;

    explicit DisplayFilterEdit(QWidget *parent = nullptr);

    State state() const { return m_state; }
    // The last compilation (of text()).
    const log::DisplayFilter &filter() const { return m_filter; }

    void setDebounceInterval(int ms) { m_debounce.setInterval(std::max(0, ms)); }
    int debounceInterval() const { return m_debounce.interval(); }
    // Waiting for typing to pause before filterChanged().
    bool isPending() const { return m_debounce.isActive(); }
    // The text last emitted by filterChanged().
    QString appliedFilter() const { return m_applied; }

    // A line beside the field: the error, or what the owner reports (row counts),
    // elided past StatusChars characters (its tooltip has the whole text).
    static constexpr int StatusChars = 40;
    QLabel *statusLabel() const { return m_status; }
    void setResultText(const QString &text);

    QStringList recentFilters() const;
    void addRecentFilter(const QString &text);
    static QStringList loadRecentFilters();

    QAction *recentAction() const { return m_recentAction; }
    QMenu *recentMenu() const { return m_recentMenu; }
    QAction *helpAction() const { return m_helpAction; }
    QWidget *helpPopup() const { return m_help; }
    void showHelp();

    // Applies the text now (as if typing had paused).
    void applyNow();

signals:
    // A valid (or empty) filter to apply.
    void filterChanged(const QString &text);

protected:
    void focusOutEvent(QFocusEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;

private:
    void onTextChanged(const QString &text);
    void updateAppearance();
    void setStatus(const QString &text);
    void rememberApplied();

    log::DisplayFilter m_filter;
    State m_state = State::Empty;
    QString m_applied;
    QTimer m_debounce;
    QLabel *m_status;
    QLabel *m_help = nullptr;
    QAction *m_recentAction;
    QAction *m_helpAction;
    QMenu *m_recentMenu;
    QCompleter *m_completer;
    QStringListModel *m_recentModel;
};

} // namespace ws
