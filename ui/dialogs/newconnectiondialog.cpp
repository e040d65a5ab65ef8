#include "newconnectiondialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

namespace ws {

namespace {

const QString RecentUrlsKey = QStringLiteral("connect/recentUrls");
const QString HeadersKey = QStringLiteral("connect/headers");
const QString OriginKey = QStringLiteral("connect/origin");
const QString SubprotocolsKey = QStringLiteral("connect/subprotocols");
const QString PongPolicyKey = QStringLiteral("connect/pongPolicy");
const QString PongDelayKey = QStringLiteral("connect/pongDelayMs");
const QString ConformanceKey = QStringLiteral("connect/conformance");
const QString CaFileKey = QStringLiteral("connect/caCertificatesFile");
const QString DeflateKey = QStringLiteral("connect/deflate/offer");
const QString ClientWindowBitsKey = QStringLiteral("connect/deflate/clientMaxWindowBits");
const QString ServerWindowBitsKey = QStringLiteral("connect/deflate/serverMaxWindowBits");
const QString ClientNoContextKey = QStringLiteral("connect/deflate/clientNoContextTakeover");
const QString ServerNoContextKey = QStringLiteral("connect/deflate/serverNoContextTakeover");

enum PongPolicy { AutoPong, DelayedPong, DropPings };

// RFC 7230 §3.2.6: a header name is a token.
bool isToken(const QString &name) {
    if (name.isEmpty())
        return false;
    for (const QChar c : name) {
        if (c.unicode() > 0x7E)
            return false;
        const char ch = char(c.unicode());
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
            continue;
        if (!QByteArrayView("!#$%&'*+-.^_`|~").contains(ch))
            return false;
    }
    return true;
}

QList<QByteArray> splitList(const QString &text) {
    QList<QByteArray> result;
    for (const QString &part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QString trimmed = part.trimmed();
        if (!trimmed.isEmpty())
            result.append(trimmed.toUtf8());
    }
    return result;
}

} // namespace

NewConnectionDialog::NewConnectionDialog(QWidget *parent)
    : QDialog(parent)
    , m_url(new QComboBox(this))
    , m_origin(new QLineEdit(this))
    , m_subprotocols(new QLineEdit(this))
    , m_headers(new QTableWidget(0, 2, this))
    , m_pongPolicy(new QComboBox(this))
    , m_pongDelay(new QSpinBox(this))
    , m_conformance(new QComboBox(this))
    , m_trust(new TrustFieldsEdit(TrustFieldsEdit::Fields::CaFile, tr("TLS (wss):"), {}, this))
    , m_deflate(new QCheckBox(tr("Offer permessage-deflate (RFC 7692)"), this))
    , m_clientWindowBits(new QSpinBox(this))
    , m_serverWindowBits(new QSpinBox(this))
    , m_clientNoContext(new QCheckBox(tr("client_no_context_takeover"), this))
    , m_serverNoContext(new QCheckBox(tr("server_no_context_takeover"), this))
    , m_message(new QLabel(this))
    , m_buttons(new QDialogButtonBox(QDialogButtonBox::Cancel, this)) {
    setWindowTitle(tr("New connection"));
    setObjectName(QStringLiteral("newConnectionDialog"));

    m_url->setEditable(true);
    m_url->setInsertPolicy(QComboBox::NoInsert);
    m_url->setMinimumContentsLength(40);
    m_url->lineEdit()->setPlaceholderText(QStringLiteral("ws://127.0.0.1:9001/"));
    m_url->setToolTip(tr("ws://host[:port]/path[?query] or wss://\u2026 for TLS (RFC 6455 §3)"));
    m_origin->setPlaceholderText(tr("none (e.g. http://localhost)"));
    m_subprotocols->setPlaceholderText(tr("comma-separated, in preference order"));

    m_headers->setHorizontalHeaderLabels({tr("Header"), tr("Value")});
    m_headers->horizontalHeader()->setStretchLastSection(true);
    m_headers->verticalHeader()->hide();
    m_headers->setMinimumHeight(110);
    auto *addHeaderButton = new QPushButton(tr("Add header"), this);
    auto *removeHeaderButton = new QPushButton(tr("Remove"), this);
    connect(addHeaderButton, &QPushButton::clicked, this, [this] {
        addHeader({}, {});
        m_headers->editItem(m_headers->item(m_headers->rowCount() - 1, 0));
    });
    connect(removeHeaderButton, &QPushButton::clicked, this, [this] {
        const int row = m_headers->currentRow();
        if (row >= 0)
            m_headers->removeRow(row);
        updateMessage();
    });
    auto *headerButtons = new QVBoxLayout;
    headerButtons->addWidget(addHeaderButton);
    headerButtons->addWidget(removeHeaderButton);
    headerButtons->addStretch();
    auto *headerRow = new QHBoxLayout;
    headerRow->addWidget(m_headers, 1);
    headerRow->addLayout(headerButtons);

    m_pongPolicy->addItem(tr("Answer pings at once"), AutoPong);
    m_pongPolicy->addItem(tr("Delay each pong by"), DelayedPong);
    m_pongPolicy->addItem(tr("Drop pings (never answer)"), DropPings);
    m_pongDelay->setRange(1, 600'000);
    m_pongDelay->setValue(1000);
    m_pongDelay->setSuffix(tr(" ms"));
    auto *pongRow = new QHBoxLayout;
    pongRow->addWidget(m_pongPolicy, 1);
    pongRow->addWidget(m_pongDelay);
    connect(m_pongPolicy, &QComboBox::currentIndexChanged, this,
            [this] { m_pongDelay->setEnabled(m_pongPolicy->currentData() == DelayedPong); });

    m_conformance->addItem(tr("Standard: every MUST fails the connection"),
                           int(Conformance::Standard));
    m_conformance->addItem(tr("Strict: oddities fail it too"), int(Conformance::Strict));
    m_conformance->addItem(tr("Lenient: oddities are notes"), int(Conformance::Lenient));

    // RFC 7692 §7.1.2: window bits are 8..15.
    for (QSpinBox *spin : {m_clientWindowBits, m_serverWindowBits}) {
        spin->setRange(8, 15);
        spin->setValue(15);
        spin->setSuffix(tr(" bits"));
    }
    m_clientWindowBits->setToolTip(
        tr("client_max_window_bits: the largest LZ77 window we compress with (15: 32 KiB)"));
    m_serverWindowBits->setToolTip(tr("server_max_window_bits: asked of the server when below 15"));
    m_clientNoContext->setToolTip(tr("We reset our compressor after every message"));
    m_serverNoContext->setToolTip(tr("Ask the server to reset its compressor after every message"));
    auto *deflateGroup = new QGroupBox(tr("Compression"), this);
    auto *deflateForm = new QFormLayout(deflateGroup);
    deflateForm->addRow(m_deflate);
    deflateForm->addRow(tr("Client window:"), m_clientWindowBits);
    deflateForm->addRow(tr("Server window:"), m_serverWindowBits);
    auto *contextRow = new QHBoxLayout;
    contextRow->addWidget(m_clientNoContext);
    contextRow->addWidget(m_serverNoContext);
    contextRow->addStretch();
    deflateForm->addRow(tr("No context takeover:"), contextRow);
    connect(m_deflate, &QCheckBox::toggled, this, &NewConnectionDialog::updateEnabled);

    m_message->setWordWrap(true);
    m_message->setStyleSheet(QStringLiteral("color: #c62828;"));
    m_message->setObjectName(QStringLiteral("validationMessage"));

    m_connect = m_buttons->addButton(tr("Connect"), QDialogButtonBox::AcceptRole);
    m_connect->setDefault(true);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &NewConnectionDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &NewConnectionDialog::reject);

    auto *form = new QFormLayout;
    form->addRow(tr("&URL:"), m_url);
    form->addRow(tr("&Origin:"), m_origin);
    form->addRow(tr("&Subprotocols:"), m_subprotocols);
    form->addRow(tr("Extra headers:"), headerRow);
    form->addRow(tr("Pong policy:"), pongRow);
    form->addRow(tr("&Conformance:"), m_conformance);
    form->addRow(m_trust);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(deflateGroup);
    layout->addWidget(m_message);
    layout->addWidget(m_buttons);

    loadSettings();
    m_pongDelay->setEnabled(m_pongPolicy->currentData() == DelayedPong);
    updateEnabled();
    connect(m_url, &QComboBox::editTextChanged, this, &NewConnectionDialog::updateMessage);
    connect(m_trust->caFileEdit(), &QLineEdit::textChanged, this,
            &NewConnectionDialog::updateMessage);
    connect(m_headers, &QTableWidget::itemChanged, this, &NewConnectionDialog::updateMessage);
    updateMessage();
    m_url->setFocus();
}

QStringList NewConnectionDialog::recentUrls() {
    return QSettings().value(RecentUrlsKey).toStringList();
}

DeflateConfig NewConnectionDialog::savedDeflate() {
    const QSettings settings;
    DeflateConfig deflate;
    deflate.policy =
        settings.value(DeflateKey, false).toBool() ? DeflatePolicy::Offer : DeflatePolicy::Refuse;
    deflate.clientMaxWindowBits = settings.value(ClientWindowBitsKey, 15).toInt();
    deflate.serverMaxWindowBits = settings.value(ServerWindowBitsKey, 15).toInt();
    deflate.clientNoContextTakeover = settings.value(ClientNoContextKey, false).toBool();
    deflate.serverNoContextTakeover = settings.value(ServerNoContextKey, false).toBool();
    return deflate;
}

void NewConnectionDialog::setUrl(const QString &url) {
    m_url->setEditText(url);
}

void NewConnectionDialog::addHeader(const QString &name, const QString &value) {
    const int row = m_headers->rowCount();
    m_headers->insertRow(row);
    m_headers->setItem(row, 0, new QTableWidgetItem(name));
    m_headers->setItem(row, 1, new QTableWidgetItem(value));
}

void NewConnectionDialog::loadSettings() {
    const QSettings settings;
    const QStringList urls = settings.value(RecentUrlsKey).toStringList();
    m_url->addItems(urls);
    m_url->setEditText(urls.isEmpty() ? QStringLiteral("ws://127.0.0.1:9001/") : urls.first());
    m_origin->setText(settings.value(OriginKey).toString());
    m_subprotocols->setText(settings.value(SubprotocolsKey).toString());
    // "Name: value" lines: readable in the settings file and free of list quoting.
    for (const QString &line : settings.value(HeadersKey).toStringList()) {
        const qsizetype colon = line.indexOf(QLatin1Char(':'));
        if (colon > 0)
            addHeader(line.left(colon), line.mid(colon + 1).trimmed());
    }
    const int policy = m_pongPolicy->findData(settings.value(PongPolicyKey, AutoPong).toInt());
    m_pongPolicy->setCurrentIndex(std::max(policy, 0));
    m_pongDelay->setValue(settings.value(PongDelayKey, 1000).toInt());
    const int conformance =
        m_conformance->findData(settings.value(ConformanceKey, int(Conformance::Standard)).toInt());
    m_conformance->setCurrentIndex(std::max(conformance, 0));
    m_trust->loadSettings(settings, CaFileKey);
    m_deflate->setChecked(settings.value(DeflateKey, false).toBool());
    m_clientWindowBits->setValue(settings.value(ClientWindowBitsKey, 15).toInt());
    m_serverWindowBits->setValue(settings.value(ServerWindowBitsKey, 15).toInt());
    m_clientNoContext->setChecked(settings.value(ClientNoContextKey, false).toBool());
    m_serverNoContext->setChecked(settings.value(ServerNoContextKey, false).toBool());
}

void NewConnectionDialog::updateEnabled() {
    const bool deflate = m_deflate->isChecked();
    m_clientWindowBits->setEnabled(deflate);
    m_serverWindowBits->setEnabled(deflate);
    m_clientNoContext->setEnabled(deflate);
    m_serverNoContext->setEnabled(deflate);
}

void NewConnectionDialog::saveSettings() const {
    QSettings settings;
    const QString url = m_url->currentText().trimmed();
    QStringList urls = settings.value(RecentUrlsKey).toStringList();
    urls.removeAll(url);
    urls.prepend(url);
    while (urls.size() > MaxRecentUrls)
        urls.removeLast();
    settings.setValue(RecentUrlsKey, urls);
    settings.setValue(OriginKey, m_origin->text());
    settings.setValue(SubprotocolsKey, m_subprotocols->text());
    QStringList headers;
    for (int row = 0; row < m_headers->rowCount(); ++row) {
        const QString name =
            m_headers->item(row, 0) ? m_headers->item(row, 0)->text().trimmed() : QString();
        if (!name.isEmpty())
            headers.append(name + QStringLiteral(": ") +
                           (m_headers->item(row, 1) ? m_headers->item(row, 1)->text() : QString()));
    }
    settings.setValue(HeadersKey, headers);
    settings.setValue(PongPolicyKey, m_pongPolicy->currentData());
    settings.setValue(PongDelayKey, m_pongDelay->value());
    settings.setValue(ConformanceKey, m_conformance->currentData());
    m_trust->saveSettings(settings, CaFileKey);
    settings.setValue(DeflateKey, m_deflate->isChecked());
    settings.setValue(ClientWindowBitsKey, m_clientWindowBits->value());
    settings.setValue(ServerWindowBitsKey, m_serverWindowBits->value());
    settings.setValue(ClientNoContextKey, m_clientNoContext->isChecked());
    settings.setValue(ServerNoContextKey, m_serverNoContext->isChecked());
}

QString NewConnectionDialog::validationError() const {
    const QString text = m_url->currentText().trimmed();
    if (text.isEmpty())
        return tr("Enter a ws:// or wss:// URL.");
    QString error;
    const auto url = parseWebSocketUrl(QUrl(text), &error);
    if (!url)
        return error;
    const QString caFile = m_trust->caFile();
    if (url->secure && !caFile.isEmpty() && !QFileInfo(caFile).isReadable())
        return tr("The CA / certificate file %1 cannot be read.").arg(caFile);
    for (int row = 0; row < m_headers->rowCount(); ++row) {
        const QString name =
            m_headers->item(row, 0) ? m_headers->item(row, 0)->text().trimmed() : QString();
        const QString value = m_headers->item(row, 1) ? m_headers->item(row, 1)->text() : QString();
        if (name.isEmpty() && value.isEmpty())
            continue;
        if (!isToken(name))
            return tr("Header name \u201c%1\u201d is not an HTTP token (RFC 7230 §3.2.6).")
                .arg(name);
        if (value.contains(QLatin1Char('\r')) || value.contains(QLatin1Char('\n')))
            return tr("The value of %1 contains a line break.").arg(name);
    }
    return {};
}

void NewConnectionDialog::updateMessage() {
    m_message->setText(validationError());
}

void NewConnectionDialog::accept() {
    const QString error = validationError();
    m_message->setText(error);
    if (!error.isEmpty()) {
        m_url->setFocus();
        return;
    }
    saveSettings();
    QDialog::accept();
}

ClientOptions NewConnectionDialog::options() const {
    ClientOptions options;
    options.url = QUrl(m_url->currentText().trimmed());
    options.origin = m_origin->text().trimmed().toUtf8();
    options.subprotocols = splitList(m_subprotocols->text());
    for (int row = 0; row < m_headers->rowCount(); ++row) {
        const QString name =
            m_headers->item(row, 0) ? m_headers->item(row, 0)->text().trimmed() : QString();
        if (name.isEmpty())
            continue;
        const QString value = m_headers->item(row, 1) ? m_headers->item(row, 1)->text() : QString();
        options.extraHeaders.add(name.toUtf8(), value.trimmed().toUtf8());
    }
    switch (m_pongPolicy->currentData().toInt()) {
    case DelayedPong:
        options.pongDelayMs = m_pongDelay->value();
        break;
    case DropPings:
        options.dropPings = true;
        break;
    default:
        break;
    }
    options.session.conformance = Conformance(m_conformance->currentData().toInt());
    if (const auto url = parseWebSocketUrl(options.url); url && url->secure)
        options.caCertificatesFile = m_trust->caFile();
    if (m_deflate->isChecked()) {
        options.deflate.policy = DeflatePolicy::Offer;
        options.deflate.clientMaxWindowBits = m_clientWindowBits->value();
        options.deflate.serverMaxWindowBits = m_serverWindowBits->value();
        options.deflate.clientNoContextTakeover = m_clientNoContext->isChecked();
        options.deflate.serverNoContextTakeover = m_serverNoContext->isChecked();
    }
    return options;
}

} // namespace ws
