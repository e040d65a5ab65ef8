#include "sendbox.h"

#include "connections/connectionhub.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRandomGenerator>
#include <QSettings>
#include <QShortcut>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <limits>

namespace ws {

namespace {

const QString HistoryKey = QStringLiteral("send/history");
const QString SnippetsKey = QStringLiteral("send/snippets");
const QString ModeKey = QStringLiteral("send/mode");
const QString FragmentSizeKey = QStringLiteral("send/fragmentSize");
// How long after a send its history is written (see m_saveHistoryTimer).
constexpr int SaveHistoryDelayMs = 2000;

// Files up to this size are shown as hex in the editor; bigger ones are sent as loaded.
constexpr qint64 MaxHexEditorBytes = 64 * 1024;
// RFC 6455 §5.5: control frame payloads are at most 125 bytes.
constexpr int MaxControlPayload = 125;

enum Page { DataPage, PingPage, ClosePage, RawPage };

const QString ValidStyle = QStringLiteral("color: #1b5e20;");
const QString InvalidStyle = QStringLiteral("color: #c62828;");

std::optional<QByteArray> parseHex(const QString &text, QString *error) {
    QByteArray digits;
    digits.reserve(text.size());
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text[i];
        if (c.isSpace() || c == QLatin1Char(':') || c == QLatin1Char(','))
            continue;
        // "0x" before a byte, as pasted from C sources.
        if (c == QLatin1Char('0') && i + 1 < text.size() &&
            (text[i + 1] == QLatin1Char('x') || text[i + 1] == QLatin1Char('X')) &&
            digits.size() % 2 == 0) {
            ++i;
            continue;
        }
        const char16_t u = c.unicode();
        const bool hexDigit =
            (u >= '0' && u <= '9') || (u >= 'a' && u <= 'f') || (u >= 'A' && u <= 'F');
        if (!hexDigit) {
            if (error)
                *error = SendBox::tr("\u201c%1\u201d at position %2 is not a hex digit")
                             .arg(c)
                             .arg(i + 1);
            return std::nullopt;
        }
        digits.append(char(u));
    }
    if (digits.size() % 2 != 0) {
        if (error)
            *error = SendBox::tr("odd number of hex digits");
        return std::nullopt;
    }
    return QByteArray::fromHex(digits);
}

// Checks any JSON value (RFC 8259 allows a bare number or string at the top); returns
// an empty string when valid, else where and what is wrong.
QString jsonError(const QString &text) {
    const QByteArray utf8 = text.toUtf8();
    QJsonParseError error;
    QJsonDocument::fromJson(utf8, &error);
    if (error.error == QJsonParseError::NoError)
        return {};
    // QJsonDocument takes only objects and arrays: a scalar is valid when it is the
    // one element of an array around it.
    QJsonParseError wrappedError;
    const QJsonDocument wrapped = QJsonDocument::fromJson('[' + utf8 + ']', &wrappedError);
    if (wrappedError.error == QJsonParseError::NoError && wrapped.array().size() == 1)
        return {};
    const qsizetype offset = std::clamp<qsizetype>(error.offset, 0, utf8.size());
    const QString before = QString::fromUtf8(utf8.left(offset));
    const qsizetype line = before.count(QLatin1Char('\n')) + 1;
    const qsizetype column = before.size() - before.lastIndexOf(QLatin1Char('\n'));
    return SendBox::tr("line %1, column %2: %3").arg(line).arg(column).arg(error.errorString());
}

QString hexText(const QByteArray &bytes) {
    return QString::fromLatin1(bytes.toHex(' '));
}

} // namespace

SendBox::SendBox(ConnectionHub *hub, QWidget *parent)
    : QWidget(parent)
    , m_hub(hub)
    , m_mode(new QComboBox(this))
    , m_indicator(new QLabel(this))
    , m_snippets(new QComboBox(this))
    , m_pages(new QStackedWidget(this))
    , m_editor(new SendEditor(this))
    , m_target(new QLabel(this))
    , m_status(new QLabel(this))
    , m_send(new QPushButton(tr("Send"), this))
    , m_saveHistoryTimer(new QTimer(this)) {
    m_saveHistoryTimer->setSingleShot(true);
    m_saveHistoryTimer->setInterval(SaveHistoryDelayMs);
    connect(m_saveHistoryTimer, &QTimer::timeout, this, &SendBox::saveHistory);
    m_mode->addItem(tr("Text"), int(Mode::Text));
    m_mode->addItem(tr("JSON"), int(Mode::Json));
    m_mode->addItem(tr("Binary (hex)"), int(Mode::Binary));
    m_mode->addItem(tr("Ping"), int(Mode::Ping));
    m_mode->addItem(tr("Close"), int(Mode::Close));
    m_mode->addItem(tr("Raw frame"), int(Mode::Raw));
    m_mode->setToolTip(tr("What to send"));
    m_indicator->setObjectName(QStringLiteral("sendIndicator"));
    // A row of its own, wrapped when long: squeezed between the mode and the
    // snippets, "valid JSON, 23 byte(s)" came down to a bare dot in a narrow dock.
    m_indicator->setWordWrap(true);
    m_indicator->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_snippets->setToolTip(tr("Named snippets: pick one to load it"));
    // Narrow, so that the send box leaves the window's width to the log and inspector.
    m_snippets->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_snippets->setMinimumContentsLength(10);
    auto *saveSnippetButton = new QToolButton(this);
    saveSnippetButton->setText(tr("Save\u2026"));
    saveSnippetButton->setToolTip(tr("Save what is in the box as a named snippet"));
    auto *deleteSnippetButton = new QToolButton(this);
    deleteSnippetButton->setText(tr("Delete"));
    deleteSnippetButton->setToolTip(tr("Delete the snippet picked in the list"));

    auto *top = new QHBoxLayout;
    top->addWidget(m_mode);
    top->addStretch(1);
    top->addWidget(m_snippets);
    top->addWidget(saveSnippetButton);
    top->addWidget(deleteSnippetButton);

    buildModePages();

    m_editor->setObjectName(QStringLiteral("sendEditor"));
    m_editor->setPlaceholderText(
        tr("Message to send \u2014 Ctrl+Enter sends, Up/Down walk the history"));
    QFont mono(QStringLiteral("monospace"));
    mono.setStyleHint(QFont::Monospace);
    m_editor->setFont(mono);
    m_editor->setMinimumHeight(m_editor->fontMetrics().height() * 3 + 10);

    m_send->setToolTip(tr("Send (Ctrl+Enter)"));
    m_send->setDefault(true);
    m_target->setObjectName(QStringLiteral("sendTarget"));
    m_status->setObjectName(QStringLiteral("sendStatus"));
    // A long refusal must not widen the dock: cut here, whole in the tooltip.
    m_status->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_status->setMinimumWidth(1);
    auto *bottom = new QHBoxLayout;
    bottom->addWidget(m_target);
    bottom->addSpacing(16);
    bottom->addWidget(m_status, 1);
    bottom->addWidget(m_send);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 4, 6, 4);
    layout->setSpacing(4);
    layout->addLayout(top);
    layout->addWidget(m_indicator);
    layout->addWidget(m_pages);
    layout->addWidget(m_editor, 1);
    layout->addLayout(bottom);

    connect(m_mode, &QComboBox::currentIndexChanged, this, [this] {
        updateModeWidgets();
        QSettings().setValue(ModeKey, m_mode->currentData());
    });
    connect(m_editor, &QPlainTextEdit::textChanged, this, [this] {
        if (!m_fileBytes.isEmpty() && !m_editor->isReadOnly())
            m_fileBytes.clear();
        updateIndicator();
    });
    connect(m_editor, &SendEditor::sendRequested, this, &SendBox::send);
    connect(m_editor, &SendEditor::historyBack, this, &SendBox::historyBack);
    connect(m_editor, &SendEditor::historyForward, this, &SendBox::historyForward);
    connect(m_send, &QPushButton::clicked, this, &SendBox::send);
    // Ctrl+Enter also from the other fields of the box (close reason, masking key...).
    for (const auto key : {Qt::Key_Return, Qt::Key_Enter}) {
        auto *shortcut = new QShortcut(QKeySequence(Qt::CTRL | key), this);
        shortcut->setContext(Qt::WidgetWithChildrenShortcut);
        connect(shortcut, &QShortcut::activated, this, &SendBox::send);
    }
    connect(m_snippets, &QComboBox::activated, this, [this](int index) {
        if (index > 0)
            loadSnippet(m_snippets->itemText(index));
    });
    connect(saveSnippetButton, &QToolButton::clicked, this, [this] {
        bool ok = false;
        const QString name = QInputDialog::getText(
            this, tr("Save snippet"), tr("Snippet name:"), QLineEdit::Normal,
            m_snippets->currentIndex() > 0 ? m_snippets->currentText() : QString(), &ok);
        if (ok && !name.trimmed().isEmpty())
            saveSnippet(name.trimmed());
    });
    connect(deleteSnippetButton, &QToolButton::clicked, this, [this] {
        if (m_snippets->currentIndex() > 0)
            deleteSnippet(m_snippets->currentText());
    });

    loadSettings();
    setTargets({}, {});
    updateModeWidgets();
}

void SendBox::buildModePages() {
    // Text, JSON, binary: fragmentation, and a file for binary.
    auto *dataPage = new QWidget(m_pages);
    m_fragment = new QCheckBox(tr("Fragment at"), dataPage);
    m_fragment->setToolTip(tr("Send the message as frames of at most this many payload bytes "
                              "(RFC 6455 §5.4)"));
    m_fragmentSize = new QSpinBox(dataPage);
    m_fragmentSize->setRange(1, 16 * 1024 * 1024);
    m_fragmentSize->setValue(16);
    m_fragmentSize->setSuffix(tr(" bytes"));
    m_loadFile = new QPushButton(tr("Load file\u2026"), dataPage);
    m_fileLabel = new QLabel(dataPage);
    m_clearFile = new QPushButton(tr("Clear"), dataPage);
    auto *dataLayout = new QHBoxLayout(dataPage);
    dataLayout->setContentsMargins(0, 0, 0, 0);
    dataLayout->addWidget(m_fragment);
    dataLayout->addWidget(m_fragmentSize);
    dataLayout->addSpacing(12);
    dataLayout->addWidget(m_loadFile);
    dataLayout->addWidget(m_fileLabel);
    dataLayout->addWidget(m_clearFile);
    dataLayout->addStretch();
    connect(m_fragment, &QCheckBox::toggled, m_fragmentSize, &QWidget::setEnabled);
    m_fragmentSize->setEnabled(false);
    connect(m_loadFile, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Send a file as binary"));
        QString error;
        if (!path.isEmpty() && !loadBinaryFile(path, &error))
            reportStatus(error, true);
    });
    connect(m_clearFile, &QPushButton::clicked, this, [this] {
        m_fileBytes.clear();
        m_fileName.clear();
        m_editor->setReadOnly(false);
        m_editor->clear();
        updateModeWidgets();
    });
    m_pages->insertWidget(DataPage, dataPage);

    auto *ping = new QWidget(m_pages);
    auto *pingLayout = new QHBoxLayout(ping);
    pingLayout->setContentsMargins(0, 0, 0, 0);
    auto *pingNote = new QLabel(tr("The text below is the ping's payload (at most 125 bytes, RFC "
                                   "6455 §5.5.2); the pong shows the round trip."),
                                ping);
    // Wrapped, so that it never widens the box.
    pingNote->setWordWrap(true);
    pingLayout->addWidget(pingNote, 1);
    m_pages->insertWidget(PingPage, ping);

    auto *close = new QWidget(m_pages);
    m_closeCode = new QComboBox(close);
    m_closeCode->setEditable(true);
    m_closeCode->setInsertPolicy(QComboBox::NoInsert);
    for (quint16 code = 1000; code <= 1014; ++code)
        m_closeCode->addItem(
            QStringLiteral("%1 %2").arg(code).arg(QLatin1String(closeCodeMeaning(code))));
    m_closeCode->addItem(QStringLiteral("4000 %1").arg(QLatin1String(closeCodeMeaning(4000))));
    m_closeCode->addItem(tr("no code"));
    m_closeCode->setToolTip(tr("Pick a code or type one (RFC 6455 §7.4). 1004-1006 and 1015 may "
                               "not be sent: use a raw frame to break that rule."));
    m_closeReason = new QLineEdit(close);
    m_closeReason->setPlaceholderText(tr("reason (UTF-8, at most 123 bytes)"));
    auto *closeLayout = new QHBoxLayout(close);
    closeLayout->setContentsMargins(0, 0, 0, 0);
    closeLayout->addWidget(new QLabel(tr("Code:"), close));
    closeLayout->addWidget(m_closeCode);
    closeLayout->addWidget(new QLabel(tr("Reason:"), close));
    closeLayout->addWidget(m_closeReason, 1);
    connect(m_closeCode, &QComboBox::editTextChanged, this, &SendBox::updateIndicator);
    connect(m_closeReason, &QLineEdit::textChanged, this, &SendBox::updateIndicator);
    m_pages->insertWidget(ClosePage, close);

    auto *raw = new QWidget(m_pages);
    m_fin = new QCheckBox(QStringLiteral("FIN"), raw);
    m_fin->setChecked(true);
    for (int i = 0; i < 3; ++i)
        m_rsv[i] = new QCheckBox(QStringLiteral("RSV%1").arg(i + 1), raw);
    m_opcode = new QSpinBox(raw);
    m_opcode->setRange(0, 15);
    m_opcode->setValue(1);
    m_opcode->setPrefix(tr("opcode "));
    m_opcodeName = new QLabel(raw);
    m_mask = new QCheckBox(tr("MASK, key"), raw);
    m_mask->setChecked(true);
    m_mask->setToolTip(tr("RFC 6455 §5.3: clients mask every frame, servers never do"));
    m_maskingKey = new QLineEdit(raw);
    m_maskingKey->setPlaceholderText(tr("random"));
    m_maskingKey->setMaxLength(11);
    m_maskingKey->setToolTip(tr("Masking key: 8 hex digits; empty: a fresh random key"));
    m_maskingKey->setMaximumWidth(fontMetrics().horizontalAdvance(QStringLiteral("00000000000")) +
                                  12);
    m_lengthEncoding = new QComboBox(raw);
    m_lengthEncoding->addItem(tr("minimal length"));
    m_lengthEncoding->addItem(tr("7-bit length"), int(LengthEncoding::Short7));
    m_lengthEncoding->addItem(tr("16-bit length"), int(LengthEncoding::Extended16));
    m_lengthEncoding->addItem(tr("64-bit length"), int(LengthEncoding::Extended64));
    m_declareLength = new QCheckBox(tr("declare"), raw);
    m_declareLength->setToolTip(tr("Write this number in the length field instead of the "
                                   "payload's real length"));
    m_declaredLength = new QSpinBox(raw);
    m_declaredLength->setRange(0, std::numeric_limits<int>::max());
    m_declaredLength->setEnabled(false);
    connect(m_declareLength, &QCheckBox::toggled, m_declaredLength, &QWidget::setEnabled);
    m_rawFormat = new QComboBox(raw);
    m_rawFormat->addItem(tr("payload: text"));
    m_rawFormat->addItem(tr("payload: hex"));
    auto *bitsRow = new QHBoxLayout;
    bitsRow->addWidget(m_fin);
    for (QCheckBox *rsv : m_rsv)
        bitsRow->addWidget(rsv);
    bitsRow->addWidget(m_opcode);
    bitsRow->addWidget(m_opcodeName);
    bitsRow->addWidget(m_mask);
    bitsRow->addWidget(m_maskingKey);
    bitsRow->addStretch();
    auto *lengthRow = new QHBoxLayout;
    lengthRow->addWidget(m_lengthEncoding);
    lengthRow->addWidget(m_declareLength);
    lengthRow->addWidget(m_declaredLength);
    lengthRow->addWidget(m_rawFormat);
    lengthRow->addStretch();
    auto *rawLayout = new QVBoxLayout(raw);
    rawLayout->setContentsMargins(0, 0, 0, 0);
    rawLayout->setSpacing(2);
    rawLayout->addLayout(bitsRow);
    rawLayout->addLayout(lengthRow);
    connect(m_opcode, &QSpinBox::valueChanged, this, [this](int value) {
        m_opcodeName->setText(QLatin1String(opcodeName(quint8(value))));
        updateIndicator();
    });
    m_opcodeName->setText(QLatin1String(opcodeName(quint8(m_opcode->value()))));
    connect(m_mask, &QCheckBox::toggled, m_maskingKey, &QWidget::setEnabled);
    connect(m_maskingKey, &QLineEdit::textChanged, this, &SendBox::updateIndicator);
    connect(m_rawFormat, &QComboBox::currentIndexChanged, this, &SendBox::updateIndicator);
    m_pages->insertWidget(RawPage, raw);
    m_pages->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Maximum);
}

void SendBox::setTargets(const QList<quint32> &ids, const QString &description) {
    // What the last send said was about other connections.
    if (ids != m_targets)
        reportStatus(QString(), false);
    m_targets = ids;
    m_target->setText(ids.isEmpty() ? tr("To: (nothing open)") : tr("To: %1").arg(description));
    QStringList tips;
    for (const quint32 id : ids) {
        if (const EndpointInfo *info = m_hub->info(id))
            tips.append(QStringLiteral("%1 \u2014 %2 (%3)")
                            .arg(info->name, info->address, info->pongPolicy));
    }
    m_target->setToolTip(tips.join(QLatin1Char('\n')));
    m_send->setEnabled(!ids.isEmpty());
}

void SendBox::setMode(Mode mode) {
    m_mode->setCurrentIndex(m_mode->findData(int(mode)));
}

SendBox::Mode SendBox::mode() const {
    return Mode(m_mode->currentData().toInt());
}

void SendBox::updateModeWidgets() {
    const Mode current = mode();
    const auto showPage = [this](int page) {
        // Only the page shown counts for the box's size: the raw page is tall.
        for (int i = 0; i < m_pages->count(); ++i) {
            const auto policy = i == page ? QSizePolicy::Preferred : QSizePolicy::Ignored;
            m_pages->widget(i)->setSizePolicy(policy, policy);
        }
        m_pages->setCurrentIndex(page);
        m_pages->adjustSize();
    };
    switch (current) {
    case Mode::Text:
    case Mode::Json:
    case Mode::Binary:
        showPage(DataPage);
        break;
    case Mode::Ping:
        showPage(PingPage);
        break;
    case Mode::Close:
        showPage(ClosePage);
        break;
    case Mode::Raw:
        showPage(RawPage);
        break;
    }
    const bool binary = current == Mode::Binary;
    m_loadFile->setVisible(binary);
    m_fileLabel->setVisible(binary && !m_fileName.isEmpty());
    m_clearFile->setVisible(binary && !m_fileName.isEmpty());
    m_editor->setVisible(current != Mode::Close);
    m_editor->setReadOnly(binary && !m_fileBytes.isEmpty());
    if (current == Mode::Binary || (current == Mode::Raw && m_rawFormat->currentIndex() == 1))
        m_editor->setPlaceholderText(tr("Hex bytes, e.g. 48 65 6c 6c 6f \u2014 Ctrl+Enter sends"));
    else if (current == Mode::Json)
        m_editor->setPlaceholderText(tr("{\"type\": \"hello\"} \u2014 Ctrl+Enter sends"));
    else
        m_editor->setPlaceholderText(
            tr("Message to send \u2014 Ctrl+Enter sends, Up/Down walk the history"));
    updateIndicator();
}

void SendBox::setIndicator(bool valid, const QString &text) {
    m_valid = valid;
    m_indicator->setStyleSheet(valid ? ValidStyle : InvalidStyle);
    m_indicator->setText(QStringLiteral("\u25CF ") + text);
    m_indicator->setToolTip(text);
}

void SendBox::updateIndicator() {
    QString error;
    switch (mode()) {
    case Mode::Text:
        setIndicator(
            true, tr("%n byte(s) of UTF-8", nullptr, int(m_editor->toPlainText().toUtf8().size())));
        return;
    case Mode::Json: {
        const QString text = m_editor->toPlainText();
        if (text.trimmed().isEmpty()) {
            setIndicator(false, tr("empty: not JSON"));
            return;
        }
        error = jsonError(text);
        if (error.isEmpty())
            setIndicator(true, tr("valid JSON, %n byte(s)", nullptr, int(text.toUtf8().size())));
        else
            setIndicator(false, tr("invalid JSON: %1").arg(error));
        return;
    }
    case Mode::Binary:
    case Mode::Ping:
    case Mode::Raw: {
        const auto bytes = payload(&error);
        if (!bytes) {
            setIndicator(false, error);
            return;
        }
        if (mode() == Mode::Ping) {
            setIndicator(bytes->size() <= MaxControlPayload,
                         tr("%1 of 125 bytes").arg(bytes->size()));
            return;
        }
        if (mode() == Mode::Raw && !rawFrame(&error)) {
            setIndicator(false, error);
            return;
        }
        setIndicator(true, tr("%n byte(s)", nullptr, int(bytes->size())));
        return;
    }
    case Mode::Close: {
        bool ok = false;
        const auto code = closeCode(&ok);
        if (!ok) {
            setIndicator(false, tr("not a close code"));
            return;
        }
        const qsizetype reasonBytes = m_closeReason->text().toUtf8().size();
        if (code && !isValidOnWire(*code)) {
            setIndicator(false, tr("%1 must not be sent (RFC 6455 §7.4.1)").arg(*code));
            return;
        }
        if (reasonBytes > 123) {
            setIndicator(false, tr("reason too long: %1 of 123 bytes").arg(reasonBytes));
            return;
        }
        setIndicator(
            true, code ? tr("close %1 (%2)").arg(*code).arg(QLatin1String(closeCodeMeaning(*code)))
                       : tr("close without a code"));
        return;
    }
    }
}

std::optional<QByteArray> SendBox::payload(QString *error) const {
    const QString text = m_editor->toPlainText();
    switch (mode()) {
    case Mode::Text:
    case Mode::Ping:
        return text.toUtf8();
    case Mode::Json: {
        const QString problem = jsonError(text);
        if (!problem.isEmpty()) {
            if (error)
                *error = tr("invalid JSON: %1").arg(problem);
            return std::nullopt;
        }
        return text.toUtf8();
    }
    case Mode::Binary:
        if (!m_fileBytes.isEmpty())
            return m_fileBytes;
        return parseHex(text, error);
    case Mode::Raw:
        if (m_rawFormat->currentIndex() == 1)
            return parseHex(text, error);
        return text.toUtf8();
    case Mode::Close:
        return FrameEncoder::closePayload(closeCode(), m_closeReason->text().toUtf8());
    }
    return std::nullopt;
}

std::optional<quint16> SendBox::closeCode(bool *ok) const {
    const QString text = m_closeCode->currentText().trimmed();
    if (ok)
        *ok = true;
    if (text == tr("no code") || text.isEmpty())
        return std::nullopt;
    const QString number = text.section(QLatin1Char(' '), 0, 0);
    bool parsed = false;
    const uint value = number.toUInt(&parsed);
    if (!parsed || value > 0xFFFF) {
        if (ok)
            *ok = false;
        return std::nullopt;
    }
    return quint16(value);
}

std::optional<RawFrame> SendBox::rawFrame(QString *error) const {
    RawFrame frame;
    frame.fin = m_fin->isChecked();
    frame.rsv1 = m_rsv[0]->isChecked();
    frame.rsv2 = m_rsv[1]->isChecked();
    frame.rsv3 = m_rsv[2]->isChecked();
    frame.opcode = quint8(m_opcode->value());
    if (m_mask->isChecked()) {
        const QString key = m_maskingKey->text().trimmed();
        if (key.isEmpty()) {
            frame.maskingKey = QRandomGenerator::system()->generate();
        } else {
            QString keyError;
            const auto bytes = parseHex(key, &keyError);
            if (!bytes || bytes->size() != 4) {
                if (error)
                    *error = tr("the masking key is 8 hex digits");
                return std::nullopt;
            }
            frame.maskingKey = (quint32(quint8(bytes->at(0))) << 24) |
                               (quint32(quint8(bytes->at(1))) << 16) |
                               (quint32(quint8(bytes->at(2))) << 8) | quint32(quint8(bytes->at(3)));
        }
    }
    if (m_lengthEncoding->currentIndex() > 0)
        frame.lengthEncoding = LengthEncoding(m_lengthEncoding->currentData().toInt());
    if (m_declareLength->isChecked())
        frame.declaredLength = quint64(m_declaredLength->value());
    const auto bytes = payload(error);
    if (!bytes)
        return std::nullopt;
    frame.payload = *bytes;
    return frame;
}

bool SendBox::loadBinaryFile(const QString &path, QString *error) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        if (error)
            *error = tr("Cannot read %1: %2").arg(path, file.errorString());
        return false;
    }
    const QByteArray bytes = file.readAll();
    setMode(Mode::Binary);
    m_fileName = QFileInfo(path).fileName();
    if (bytes.size() <= MaxHexEditorBytes) {
        m_fileBytes.clear();
        m_editor->setReadOnly(false);
        m_editor->setPlainText(hexText(bytes));
        m_fileName.clear();
    } else {
        m_fileBytes = bytes;
        m_editor->setReadOnly(true);
        m_editor->setPlainText(
            tr("%1: %2 bytes, sent as loaded").arg(m_fileName).arg(bytes.size()));
        m_fileLabel->setText(tr("%1 (%2 bytes)").arg(m_fileName).arg(bytes.size()));
    }
    updateModeWidgets();
    return true;
}

bool SendBox::send() {
    if (m_targets.isEmpty()) {
        reportStatus(tr("Not sent: no open connection. Open one or pick one in the Connections "
                        "tree."),
                     true);
        return false;
    }
    QString error;
    std::optional<QByteArray> bytes;
    std::optional<RawFrame> frame;
    const Mode current = mode();
    if (current == Mode::Raw)
        frame = rawFrame(&error);
    else if (current != Mode::Close)
        bytes = payload(&error);
    if ((current == Mode::Raw && !frame) ||
        (current != Mode::Raw && current != Mode::Close && !bytes)) {
        reportStatus(tr("Not sent: %1").arg(error), true);
        return false;
    }
    bool codeOk = false;
    const auto code = closeCode(&codeOk);
    if (current == Mode::Close && !codeOk) {
        reportStatus(
            tr("Not sent: \u201c%1\u201d is not a close code").arg(m_closeCode->currentText()),
            true);
        return false;
    }
    const qint64 fragment = m_fragment->isChecked() ? m_fragmentSize->value() : 0;
    int count = 0;
    QStringList failures;
    for (const quint32 id : std::as_const(m_targets)) {
        SendError result = SendError::None;
        switch (current) {
        case Mode::Text:
        case Mode::Json:
            result = m_hub->sendText(id, *bytes, fragment);
            break;
        case Mode::Binary:
            result = m_hub->sendBinary(id, *bytes, fragment);
            break;
        case Mode::Ping:
            result = m_hub->sendPing(id, *bytes);
            break;
        case Mode::Close:
            result = m_hub->sendClose(id, code, m_closeReason->text());
            break;
        case Mode::Raw:
            result = m_hub->sendRaw(id, *frame);
            break;
        }
        if (result == SendError::None) {
            ++count;
        } else {
            const EndpointInfo *info = m_hub->info(id);
            failures.append(QStringLiteral("%1: %2").arg(info ? info->name : QString::number(id),
                                                         QString::fromUtf8(sendErrorText(result))));
        }
    }
    if (count == 0) {
        reportStatus(tr("Not sent: %1").arg(failures.join(QStringLiteral("; "))), true);
        return false;
    }
    remember();
    reportStatus(
        failures.isEmpty()
            ? tr("Sent to %n connection(s)", nullptr, count)
            : tr("Sent to %1; not to %2").arg(count).arg(failures.join(QStringLiteral("; "))),
        !failures.isEmpty());
    emit sent(count);
    return true;
}

void SendBox::reportStatus(const QString &text, bool error) {
    m_status->setStyleSheet(error ? InvalidStyle : QString());
    m_status->setText(text);
    m_status->setToolTip(text);
    if (error)
        emit statusMessage(text);
}

void SendBox::remember() {
    const QString text = mode() == Mode::Close ? m_closeCode->currentText() + QLatin1Char('\n') +
                                                     m_closeReason->text()
                                               : m_editor->toPlainText();
    if (!m_fileBytes.isEmpty())
        return; // a big file is not history material
    if (m_history.isEmpty() || m_history.constLast().text != text ||
        m_history.constLast().mode != mode())
        m_history.append({mode(), text});
    while (m_history.size() > MaxHistory)
        m_history.removeFirst();
    m_historyIndex = m_history.size();
    m_saveHistoryTimer->start();
}

QStringList SendBox::history() const {
    QStringList texts;
    for (const HistoryEntry &entry : m_history)
        texts.append(entry.text);
    return texts;
}

void SendBox::historyBack() {
    if (m_historyIndex <= 0 || m_history.isEmpty())
        return;
    if (m_historyIndex >= m_history.size()) {
        m_draft = m_editor->toPlainText();
        m_draftMode = mode();
        m_historyIndex = m_history.size();
    }
    --m_historyIndex;
    // The box still holds what was just sent: the first step goes past it.
    if (m_historyIndex + 1 == m_history.size() && m_historyIndex > 0 &&
        m_history[m_historyIndex].text == m_draft && m_history[m_historyIndex].mode == m_draftMode)
        --m_historyIndex;
    const HistoryEntry &entry = m_history[m_historyIndex];
    if (entry.mode == Mode::Close) {
        setMode(Mode::Close);
        m_closeCode->setEditText(entry.text.section(QLatin1Char('\n'), 0, 0));
        m_closeReason->setText(entry.text.section(QLatin1Char('\n'), 1));
        return;
    }
    setMode(entry.mode);
    m_editor->setPlainText(entry.text);
    m_editor->moveCursor(QTextCursor::Start);
}

void SendBox::historyForward() {
    if (m_historyIndex >= m_history.size())
        return;
    ++m_historyIndex;
    if (m_historyIndex == m_history.size()) {
        setMode(m_draftMode);
        m_editor->setPlainText(m_draft);
    } else {
        const HistoryEntry &entry = m_history[m_historyIndex];
        setMode(entry.mode);
        m_editor->setPlainText(entry.text);
    }
    m_editor->moveCursor(QTextCursor::End);
}

void SendBox::loadSettings() {
    const QSettings settings;
    for (const QVariant &item : settings.value(HistoryKey).toList()) {
        const QVariantMap map = item.toMap();
        m_history.append({Mode(map.value(QStringLiteral("mode")).toInt()),
                          map.value(QStringLiteral("text")).toString()});
    }
    m_historyIndex = m_history.size();
    const int stored = m_mode->findData(settings.value(ModeKey, int(Mode::Text)).toInt());
    m_mode->setCurrentIndex(std::max(stored, 0));
    m_fragmentSize->setValue(settings.value(FragmentSizeKey, 16).toInt());
    refreshSnippets();
}

SendBox::~SendBox() {
    if (m_saveHistoryTimer->isActive())
        saveHistory();
}

void SendBox::saveHistory() {
    m_saveHistoryTimer->stop();
    QVariantList list;
    for (const HistoryEntry &entry : m_history)
        list.append(QVariantMap{{QStringLiteral("mode"), int(entry.mode)},
                                {QStringLiteral("text"), entry.text}});
    QSettings settings;
    settings.setValue(HistoryKey, list);
    settings.setValue(FragmentSizeKey, m_fragmentSize->value());
}

void SendBox::refreshSnippets() {
    const QString current = m_snippets->currentIndex() > 0 ? m_snippets->currentText() : QString();
    m_snippets->clear();
    m_snippets->addItem(tr("Snippets\u2026"));
    m_snippets->addItems(snippetNames());
    const int index = m_snippets->findText(current);
    m_snippets->setCurrentIndex(std::max(index, 0));
}

QStringList SendBox::snippetNames() const {
    return QSettings().value(SnippetsKey).toMap().keys();
}

void SendBox::saveSnippet(const QString &name) {
    QSettings settings;
    QVariantMap snippets = settings.value(SnippetsKey).toMap();
    QVariantMap snippet{{QStringLiteral("mode"), int(mode())},
                        {QStringLiteral("text"), m_editor->toPlainText()}};
    if (mode() == Mode::Close) {
        snippet.insert(QStringLiteral("code"), m_closeCode->currentText());
        snippet.insert(QStringLiteral("reason"), m_closeReason->text());
    }
    snippets.insert(name, snippet);
    settings.setValue(SnippetsKey, snippets);
    refreshSnippets();
    m_snippets->setCurrentIndex(m_snippets->findText(name));
    reportStatus(tr("Snippet \u201c%1\u201d saved").arg(name), false);
}

bool SendBox::loadSnippet(const QString &name) {
    const QVariantMap snippets = QSettings().value(SnippetsKey).toMap();
    if (!snippets.contains(name))
        return false;
    const QVariantMap snippet = snippets.value(name).toMap();
    setMode(Mode(snippet.value(QStringLiteral("mode")).toInt()));
    m_editor->setPlainText(snippet.value(QStringLiteral("text")).toString());
    if (mode() == Mode::Close) {
        m_closeCode->setEditText(snippet.value(QStringLiteral("code")).toString());
        m_closeReason->setText(snippet.value(QStringLiteral("reason")).toString());
    }
    m_snippets->setCurrentIndex(m_snippets->findText(name));
    m_editor->setFocus();
    return true;
}

void SendBox::deleteSnippet(const QString &name) {
    QSettings settings;
    QVariantMap snippets = settings.value(SnippetsKey).toMap();
    snippets.remove(name);
    settings.setValue(SnippetsKey, snippets);
    m_snippets->setCurrentIndex(0);
    refreshSnippets();
}

} // namespace ws
