#include "displayfilteredit.h"

#include <QAction>
#include <QCompleter>
#include <QFocusEvent>
#include <QFontDatabase>
#include <QKeyEvent>
#include <QLabel>
#include <QMenu>
#include <QSettings>
#include <QStringListModel>
#include <QStyle>

namespace ws {

namespace {

const QString RecentFiltersKey = QStringLiteral("log/recentFilters");

// Light enough for black text in both the light and the dark palette's base.
const QColor ValidColor(0xd4, 0xf4, 0xd4);
const QColor InvalidColor(0xf9, 0xd6, 0xd5);

} // namespace

DisplayFilterEdit::DisplayFilterEdit(QWidget *parent)
    : QLineEdit(parent)
    , m_status(new QLabel(this))
    , m_recentMenu(new QMenu(this))
    , m_completer(new QCompleter(this))
    , m_recentModel(new QStringListModel(this)) {
    setPlaceholderText(tr("Display filter, e.g. opcode == 9 || text ~ \"error\"\u2026"));
    setClearButtonEnabled(true);
    m_status->setObjectName(QStringLiteral("logFilterStatus"));
    m_status->setTextFormat(Qt::PlainText);
    m_status->setContentsMargins(6, 0, 6, 0);
    m_status->hide(); // shown where the owner places it

    m_debounce.setSingleShot(true);
    m_debounce.setInterval(DefaultDebounceMs);
    connect(&m_debounce, &QTimer::timeout, this, &DisplayFilterEdit::applyNow);
    connect(this, &QLineEdit::textChanged, this, &DisplayFilterEdit::onTextChanged);
    connect(this, &QLineEdit::returnPressed, this, [this] {
        applyNow();
        rememberApplied();
    });

    m_recentAction =
        addAction(style()->standardIcon(QStyle::SP_ArrowDown), QLineEdit::LeadingPosition);
    m_recentAction->setToolTip(tr("Recent filters"));
    m_recentAction->setObjectName(QStringLiteral("recentFilters"));
    connect(m_recentAction, &QAction::triggered, this, [this] {
        m_recentMenu->clear();
        const QStringList recent = recentFilters();
        if (recent.isEmpty())
            m_recentMenu->addAction(tr("No recent filters"))->setEnabled(false);
        for (const QString &text : recent) {
            connect(m_recentMenu->addAction(text), &QAction::triggered, this, [this, text] {
                setText(text);
                applyNow();
                rememberApplied();
            });
        }
        m_recentMenu->popup(mapToGlobal(QPoint(0, height())));
    });
    m_helpAction = addAction(style()->standardIcon(QStyle::SP_MessageBoxQuestion),
                             QLineEdit::TrailingPosition);
    m_helpAction->setToolTip(tr("Display filter syntax (F1)"));
    m_helpAction->setObjectName(QStringLiteral("filterHelp"));
    connect(m_helpAction, &QAction::triggered, this, [this] {
        if (m_help && m_help->isVisible())
            m_help->hide();
        else
            showHelp();
    });

    m_recentModel->setStringList(loadRecentFilters());
    m_completer->setModel(m_recentModel);
    m_completer->setCaseSensitivity(Qt::CaseInsensitive);
    m_completer->setFilterMode(Qt::MatchContains);
    m_completer->setCompletionMode(QCompleter::PopupCompletion);
    setCompleter(m_completer);
    updateAppearance();
}

void DisplayFilterEdit::onTextChanged(const QString &text) {
    if (m_help)
        m_help->hide();
    // Compiling is cheap; applying waits for typing to pause.
    m_filter = log::DisplayFilter::compile(text);
    m_state = m_filter.isEmpty()   ? State::Empty
              : m_filter.isValid() ? State::Valid
                                   : State::Invalid;
    updateAppearance();
    if (m_state != State::Invalid)
        m_debounce.start();
    else
        m_debounce.stop();
}

void DisplayFilterEdit::updateAppearance() {
    QPalette palette = this->palette();
    palette.setColor(QPalette::Base, m_state == State::Valid ? ValidColor
                                     : m_state == State::Invalid
                                         ? InvalidColor
                                         : QPalette().color(QPalette::Base));
    if (m_state != State::Empty)
        palette.setColor(QPalette::Text, Qt::black);
    else
        palette.setColor(QPalette::Text, QPalette().color(QPalette::Text));
    setPalette(palette);
    if (m_state == State::Invalid) {
        const QString message = m_filter.error().toString();
        setToolTip(message);
        setStatus(message);
        m_status->setStyleSheet(QStringLiteral("color: #b3261e;"));
    } else {
        setToolTip(m_state == State::Valid ? tr("Valid filter")
                                           : tr("Type a display filter (F1 for help)"));
        setStatus(QString());
        m_status->setStyleSheet(QString());
    }
}

void DisplayFilterEdit::setResultText(const QString &text) {
    if (m_state == State::Invalid)
        return; // the error stays until the text is fixed
    setStatus(text);
}

void DisplayFilterEdit::setStatus(const QString &text) {
    if (m_status->toolTip() == text) // called for every batch of rows the log takes
        return;
    // Elided to leave the toolbar its room; the tooltip has it all.
    m_status->setToolTip(text);
    const int width = m_status->fontMetrics().horizontalAdvance(QLatin1Char('x')) * StatusChars;
    m_status->setText(m_status->fontMetrics().elidedText(text, Qt::ElideRight, width));
}

void DisplayFilterEdit::applyNow() {
    m_debounce.stop();
    if (m_state == State::Invalid)
        return;
    m_applied = text();
    emit filterChanged(m_applied);
}

void DisplayFilterEdit::rememberApplied() {
    if (m_state == State::Valid && m_applied == text())
        addRecentFilter(text().trimmed());
}

void DisplayFilterEdit::focusOutEvent(QFocusEvent *event) {
    // A filter left in place is worth keeping; one the completer took focus for is not done.
    if (event->reason() != Qt::PopupFocusReason && !m_debounce.isActive())
        rememberApplied();
    if (m_help && event->reason() != Qt::PopupFocusReason)
        m_help->hide();
    QLineEdit::focusOutEvent(event);
}

void DisplayFilterEdit::keyPressEvent(QKeyEvent *event) {
    if (event->key() == Qt::Key_F1) {
        showHelp();
        return;
    }
    if (event->key() == Qt::Key_Escape && m_help && m_help->isVisible()) {
        m_help->hide();
        return;
    }
    QLineEdit::keyPressEvent(event);
}

QStringList DisplayFilterEdit::loadRecentFilters() {
    return QSettings().value(RecentFiltersKey).toStringList();
}

QStringList DisplayFilterEdit::recentFilters() const {
    return m_recentModel->stringList();
}

void DisplayFilterEdit::addRecentFilter(const QString &text) {
    if (text.isEmpty())
        return;
    QStringList recent = loadRecentFilters();
    recent.removeAll(text);
    recent.prepend(text);
    while (recent.size() > MaxRecentFilters)
        recent.removeLast();
    QSettings().setValue(RecentFiltersKey, recent);
    m_recentModel->setStringList(recent);
}

void DisplayFilterEdit::showHelp() {
    if (!m_help) {
        m_help = new QLabel(this, Qt::ToolTip);
        m_help->setObjectName(QStringLiteral("filterHelpPopup"));
        m_help->setTextFormat(Qt::PlainText);
        m_help->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
        m_help->setText(log::DisplayFilter::syntaxHelp().trimmed());
        m_help->setMargin(8);
        m_help->setAutoFillBackground(true);
    }
    m_help->adjustSize();
    m_help->move(mapToGlobal(QPoint(0, height())));
    m_help->show();
    m_help->raise();
}

} // namespace ws
