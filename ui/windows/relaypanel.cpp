#include "relaypanel.h"

#include "connections/connectionhub.h"
#include "models/connectionsmodel.h"
#include "net/tlscertificate.h"
#include "net/websocketurl.h"

#include <QCheckBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QSslCertificate>
#include <QToolButton>
#include <QTreeView>
#include <QVBoxLayout>

namespace ws {

namespace {

const QString AddressKey = QStringLiteral("relay/listenAddress");
const QString PortKey = QStringLiteral("relay/port");
const QString TargetKey = QStringLiteral("relay/target");
const QString ClientDeflateKey = QStringLiteral("relay/clientDeflate");
const QString ServerDeflateKey = QStringLiteral("relay/serverDeflate");
const QString CaFileKey = QStringLiteral("relay/caCertificatesFile");
const QString FingerprintKey = QStringLiteral("relay/acceptedFingerprint");

constexpr quint16 DefaultPort = 9002;
// The window promises a bounded stop: closing handshakes get this long.
constexpr int StopTimeoutMs = 2000;

bool isLoopback(const QString &text) {
    const QHostAddress address(text.trimmed());
    return !address.isNull() && address.isLoopback();
}

QString urlHost(const QHostAddress &address) {
    if (address.protocol() == QAbstractSocket::IPv6Protocol)
        return QLatin1Char('[') + address.toString() + QLatin1Char(']');
    return address.toString();
}

} // namespace

RelayPanel::RelayPanel(ConnectionHub *hub, QWidget *parent)
    : QWidget(parent)
    , m_hub(hub)
    , m_model(new ConnectionsModel(hub, this))
    , m_address(new QLineEdit(this))
    , m_port(new QSpinBox(this))
    , m_addressWarning(new QLabel(this))
    , m_target(new QLineEdit(this))
    , m_clientDeflate(new QCheckBox(tr("Deflate on the client leg"), this))
    , m_serverDeflate(new QCheckBox(tr("Deflate on the server leg"), this))
    , m_caFile(new QLineEdit(this))
    , m_caBrowse(new QToolButton(this))
    , m_fingerprint(new QLineEdit(this))
    , m_start(new QPushButton(tr("Start"), this))
    , m_status(new QLabel(this))
    , m_error(new QLabel(this))
    , m_pairs(new QTreeView(this))
    , m_log(new QPlainTextEdit(this)) {
    m_address->setObjectName(QStringLiteral("relayAddress"));
    m_address->setPlaceholderText(QStringLiteral("127.0.0.1"));
    m_address->setToolTip(tr("The address to listen on. 127.0.0.1: only programs on this "
                             "machine can connect; 0.0.0.0: any machine that reaches this one."));
    m_port->setObjectName(QStringLiteral("relayPort"));
    m_port->setRange(0, 65535);
    m_port->setSpecialValueText(tr("any free port"));
    m_port->setToolTip(tr("TCP port; 0 picks any free one"));
    m_addressWarning->setText(tr("\u26A0 Not a loopback address: other machines that reach this "
                                 "one can connect through the relay."));
    m_addressWarning->setWordWrap(true);
    m_addressWarning->setStyleSheet(QStringLiteral("color: #b71c1c;"));
    m_target->setObjectName(QStringLiteral("relayTarget"));
    m_target->setPlaceholderText(QStringLiteral("ws://127.0.0.1:9001/"));
    m_target->setToolTip(tr("The upstream server every client is relayed to: ws[s]://host[:port]"
                            "[/path]. Without a path, each client's own path and query go "
                            "upstream."));
    m_clientDeflate->setToolTip(tr("Agree to a client's permessage-deflate offer (RFC 7692) on "
                                   "the leg between the client and the relay"));
    m_serverDeflate->setToolTip(tr("Offer permessage-deflate to the upstream server on the leg "
                                   "between the relay and the server"));
    m_caFile->setObjectName(QStringLiteral("relayCaFile"));
    m_caFile->setPlaceholderText(tr("none: the system's certificate store"));
    m_caFile->setToolTip(tr("wss upstream: a PEM file of certificate authorities (or the "
                            "server's own certificate) trusted besides the system's"));
    m_caFile->setClearButtonEnabled(true);
    m_caBrowse->setText(tr("\u2026"));
    m_caBrowse->setToolTip(tr("Choose the CA file"));
    connect(m_caBrowse, &QToolButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(
            this, tr("Trust an extra CA / certificate file"), m_caFile->text(),
            tr("PEM certificates (*.pem *.crt *.cer);;All files (*)"));
        if (!file.isEmpty())
            m_caFile->setText(file);
    });
    m_fingerprint->setObjectName(QStringLiteral("relayFingerprint"));
    m_fingerprint->setPlaceholderText(tr("SHA-256 of a certificate to accept (AB:CD:\u2026)"));
    m_fingerprint->setToolTip(tr("wss upstream: accept exactly this certificate although it "
                                 "cannot be verified (a self-signed test server)"));
    m_fingerprint->setClearButtonEnabled(true);
    m_start->setObjectName(QStringLiteral("relayStart"));
    m_status->setObjectName(QStringLiteral("relayStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->setObjectName(QStringLiteral("relayError"));
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->setStyleSheet(QStringLiteral("color: #b71c1c; font-weight: bold;"));
    m_error->hide();

    m_pairs->setObjectName(QStringLiteral("relayPairs"));
    m_pairs->setModel(m_model);
    m_pairs->setUniformRowHeights(true);
    m_pairs->setAllColumnsShowFocus(true);
    m_pairs->setSelectionMode(QAbstractItemView::SingleSelection);
    m_pairs->setMinimumHeight(fontMetrics().height() * 5);
    m_pairs->setColumnHidden(ConnectionsModel::AddressColumn, true);
    m_pairs->setColumnHidden(ConnectionsModel::BytesColumn, true);
    m_pairs->header()->setSectionResizeMode(ConnectionsModel::NameColumn,
                                            QHeaderView::ResizeToContents);
    m_pairs->header()->setStretchLastSection(true);
    m_log->setObjectName(QStringLiteral("relayLog"));
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(500);
    m_log->setPlaceholderText(tr("Relay log: refusals relayed, 502/504, legs closed by the relay"));
    m_log->setMinimumHeight(fontMetrics().height() * 3 + 10);

    auto *listenRow = new QHBoxLayout;
    listenRow->addWidget(m_address, 1);
    listenRow->addWidget(new QLabel(tr("Port:"), this));
    listenRow->addWidget(m_port);
    auto *caRow = new QHBoxLayout;
    caRow->addWidget(m_caFile, 1);
    caRow->addWidget(m_caBrowse);
    auto *startRow = new QHBoxLayout;
    startRow->addWidget(m_start);
    startRow->addWidget(m_status, 1);
    auto *form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->addRow(tr("Listen on:"), listenRow);
    form->addRow(QString(), m_addressWarning);
    form->addRow(tr("Relay to:"), m_target);
    form->addRow(m_clientDeflate);
    form->addRow(m_serverDeflate);
    form->addRow(tr("Upstream CA:"), caRow);
    form->addRow(tr("Accept cert:"), m_fingerprint);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(startRow);
    layout->addWidget(m_error);
    layout->addWidget(m_pairs, 2);
    layout->addWidget(m_log, 1);

    loadSettings();
    connect(m_address, &QLineEdit::textChanged, this, &RelayPanel::updateForm);
    connect(m_start, &QPushButton::clicked, this, [this] {
        if (isRunning())
            stop();
        else
            start();
    });
    connect(m_pairs->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex &current) {
                if (const quint32 id = m_model->idOf(current))
                    emit endpointActivated(id);
            });
    // "Forget closed" rebuilds the tree: the list is rooted at the relay again.
    connect(m_model, &QAbstractItemModel::modelReset, this, &RelayPanel::rootPairList);
    connect(m_model, &QAbstractItemModel::rowsInserted, this,
            [this](const QModelIndex &parentIndex) {
                // A new pair shows its legs at once.
                if (parentIndex.isValid())
                    m_pairs->expand(parentIndex);
            });
    connect(hub, &ConnectionHub::endpointChanged, this, [this](quint32 id) {
        if (id == m_relayId)
            updateForm();
    });
    connect(hub, &ConnectionHub::relayLog, this,
            [this](quint32 relayId, quint64 pair, const QString &line) {
                if (relayId != m_relayId)
                    return;
                m_log->appendPlainText(pair ? QStringLiteral("[%1] %2").arg(pair).arg(line) : line);
            });
    connect(hub, &ConnectionHub::relayStopped, this, [this](quint32 relayId) {
        if (relayId != m_relayId)
            return;
        m_stopping = false;
        m_status->setText(tr("Stopped"));
        emit stopped(relayId);
        updateForm();
    });
    updateForm();
}

RelayPanel::~RelayPanel() = default;

void RelayPanel::loadSettings() {
    const QSettings settings;
    m_address->setText(settings.value(AddressKey, QStringLiteral("127.0.0.1")).toString());
    m_port->setValue(settings.value(PortKey, DefaultPort).toInt());
    m_target->setText(settings.value(TargetKey, QStringLiteral("ws://127.0.0.1:9001/")).toString());
    m_clientDeflate->setChecked(settings.value(ClientDeflateKey, true).toBool());
    m_serverDeflate->setChecked(settings.value(ServerDeflateKey, true).toBool());
    m_caFile->setText(settings.value(CaFileKey).toString());
    m_fingerprint->setText(settings.value(FingerprintKey).toString());
}

void RelayPanel::saveSettings() const {
    QSettings settings;
    settings.setValue(AddressKey, m_address->text().trimmed());
    settings.setValue(PortKey, m_port->value());
    settings.setValue(TargetKey, m_target->text().trimmed());
    settings.setValue(ClientDeflateKey, m_clientDeflate->isChecked());
    settings.setValue(ServerDeflateKey, m_serverDeflate->isChecked());
    settings.setValue(CaFileKey, m_caFile->text().trimmed());
    settings.setValue(FingerprintKey, m_fingerprint->text().trimmed());
}

RelayOptions RelayPanel::options(QString *error) const {
    RelayOptions options;
    QStringList problems;
    const QString address = m_address->text().trimmed();
    if (address.isEmpty())
        options.listenAddress = QHostAddress(QHostAddress::LocalHost);
    else if (!options.listenAddress.setAddress(address))
        problems.append(tr("Listen on: %1 is not an IP address").arg(address));
    options.listenPort = quint16(m_port->value());
    const QUrl target(m_target->text().trimmed(), QUrl::StrictMode);
    QString urlError;
    if (!parseWebSocketUrl(target, &urlError))
        problems.append(tr("Relay to: %1").arg(urlError));
    options.target = target;
    if (!m_clientDeflate->isChecked())
        options.clientDeflate.policy = DeflatePolicy::Refuse;
    if (!m_serverDeflate->isChecked())
        options.serverDeflate.policy = DeflatePolicy::Refuse;
    const QString caFile = m_caFile->text().trimmed();
    if (!caFile.isEmpty()) {
        if (QSslCertificate::fromPath(caFile, QSsl::Pem).isEmpty())
            problems.append(tr("Upstream CA: no PEM certificate in %1").arg(caFile));
        options.upstream.caCertificatesFile = caFile;
    }
    const QString fingerprint = m_fingerprint->text().trimmed();
    if (!fingerprint.isEmpty()) {
        options.upstream.acceptedFingerprint = parseFingerprint(fingerprint);
        if (options.upstream.acceptedFingerprint.isEmpty())
            problems.append(tr("Accept cert: a SHA-256 fingerprint is 32 hex bytes, with or "
                               "without colons"));
    }
    options.closeTimeoutMs = StopTimeoutMs;
    if (error)
        *error = problems.join(QLatin1Char('\n'));
    return options;
}

bool RelayPanel::start() {
    if (isRunning())
        return true;
    saveSettings();
    QString error;
    const RelayOptions form = options(&error);
    if (error.isEmpty()) {
        const quint32 id = m_hub->startRelay(form, &error);
        if (id) {
            m_relayId = id;
            m_stopping = false;
            m_log->clear();
            showError({});
            rootPairList();
            updateForm();
            emit started(id);
            return true;
        }
    }
    m_status->setText(tr("Not started"));
    showError(error);
    emit statusMessage(tr("Relay not started: %1").arg(error));
    updateForm();
    return false;
}

void RelayPanel::stop() {
    if (!isRunning())
        return;
    m_stopping = true;
    m_status->setText(tr("Stopping: closing every pair with 1001\u2026"));
    m_hub->stopRelay(m_relayId);
    updateForm();
}

bool RelayPanel::isRunning() const {
    const EndpointInfo *info = m_hub->info(m_relayId);
    return info && !info->finished;
}

quint16 RelayPanel::boundPort() const {
    const Relay *relay = isRunning() ? m_hub->relay(m_relayId) : nullptr;
    return relay ? relay->port() : 0;
}

QString RelayPanel::listeningUrl() const {
    const Relay *relay = isRunning() ? m_hub->relay(m_relayId) : nullptr;
    if (!relay)
        return {};
    return QStringLiteral("%1://%2:%3/")
        .arg(relay->isSecure() ? QLatin1String("wss") : QLatin1String("ws"))
        .arg(urlHost(relay->address()))
        .arg(relay->port());
}

quint32 RelayPanel::selectedPair() const {
    quint32 id = m_model->idOf(m_pairs->currentIndex());
    const EndpointInfo *info = m_hub->info(id);
    if (info && info->kind == EndpointInfo::Kind::RelayLeg)
        id = info->parentId;
    info = m_hub->info(id);
    return info && info->kind == EndpointInfo::Kind::RelayPair && info->parentId == m_relayId ? id
                                                                                              : 0;
}

void RelayPanel::showError(const QString &message) {
    m_error->setText(message);
    m_error->setVisible(!message.isEmpty());
}

void RelayPanel::rootPairList() {
    // Without a relay the list is rooted at a node that has no children: empty.
    const QModelIndex root = m_relayId ? m_model->indexOf(m_relayId) : QModelIndex();
    m_pairs->setRootIndex(root.isValid() ? root : m_model->allIndex());
    m_pairs->expandAll();
}

void RelayPanel::updateForm() {
    const bool running = isRunning();
    const bool editable = !running && !m_stopping;
    for (QWidget *widget :
         std::initializer_list<QWidget *>{m_address, m_port, m_target, m_clientDeflate,
                                          m_serverDeflate, m_caFile, m_caBrowse, m_fingerprint})
        widget->setEnabled(editable);
    m_addressWarning->setVisible(!m_address->text().trimmed().isEmpty() &&
                                 !isLoopback(m_address->text()));
    m_start->setText(running ? (m_stopping ? tr("Stopping\u2026") : tr("Stop")) : tr("Start"));
    m_start->setEnabled(!m_stopping);
    if (running && !m_stopping)
        m_status->setText(
            tr("Listening on %1 \u2192 %2")
                .arg(listeningUrl(), m_hub->relay(m_relayId)->options().target.toString()));
}

} // namespace ws
