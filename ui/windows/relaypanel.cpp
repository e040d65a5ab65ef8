#include "relaypanel.h"

#include "connections/connectionhub.h"
#include "models/connectionsmodel.h"
#include "models/heldmessagesmodel.h"
#include "net/tlscertificate.h"
#include "net/websocketurl.h"
#include "widgets/connectionstreeview.h"
#include "widgets/displayfilteredit.h"
#include "widgets/listeningtlsedit.h"
#include "widgets/relayfaultsedit.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
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
const QString ModeKey = QStringLiteral("relay/mode");
const QString BlindHostsKey = QStringLiteral("relay/blindHosts");
const QString CaDirectoryKey = QStringLiteral("relay/caDirectory");
const QString FaultSeedKey = QStringLiteral("relay/faultSeed");
const QString ProxyModeName = QStringLiteral("proxy");
const QString SettingsGroup = QStringLiteral("relay/");

constexpr quint16 DefaultPort = 9002;
// The window promises a bounded stop: closing handshakes get this long.
constexpr int StopTimeoutMs = 2000;
// How often the panel looks whether a leg is paused by back-pressure.
constexpr int PauseWatchMs = 250;
constexpr int TargetPairUpdateMs = 50;

enum EditFormat { TextFormat, HexFormat };
enum InjectKind { InjectText, InjectBinary, InjectPing, InjectClose };

RelayLegKind legData(const QComboBox *combo) {
    return combo->currentData().toInt() == int(RelayLegKind::Client) ? RelayLegKind::Client
                                                                     : RelayLegKind::Server;
}

// Hex as people type it: pairs with or without spaces; empty when it is not hex.
std::optional<QByteArray> parseHex(const QString &text) {
    QString digits = text;
    digits.remove(QRegularExpression(QStringLiteral("\\s")));
    static const QRegularExpression hex(QStringLiteral("^([0-9A-Fa-f]{2})*$"));
    if (!hex.match(digits).hasMatch())
        return std::nullopt;
    return QByteArray::fromHex(digits.toLatin1());
}

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
    , m_listeningTls(new ListeningTlsEdit(this))
    , m_mode(new QComboBox(this))
    , m_blindHosts(new QLineEdit(this))
    , m_caDirectory(new QLineEdit(this))
    , m_caDirectoryBrowse(new QToolButton(this))
    , m_caButton(new QPushButton(tr("Certificate authority\u2026"), this))
    , m_proxyHint(new QLabel(this))
    , m_clientDeflate(new QCheckBox(tr("Deflate on the client leg"), this))
    , m_serverDeflate(new QCheckBox(tr("Deflate on the server leg"), this))
    , m_trust(new TrustFieldsEdit(TrustFieldsEdit::Fields::CaFileAndFingerprint, tr("Upstream CA:"),
                                  QStringLiteral("relay"), this))
    , m_start(new QPushButton(tr("Start"), this))
    , m_status(new QLabel(this))
    , m_error(new QLabel(this))
    , m_pairs(new ConnectionsTreeView(m_model, this))
    , m_log(new QPlainTextEdit(this))
    , m_tabs(new QTabWidget(this))
    , m_holdUp(new QCheckBox(tr("Hold client \u2192 server"), this))
    , m_holdDown(new QCheckBox(tr("Hold server \u2192 client"), this))
    , m_rule(new DisplayFilterEdit(this))
    , m_holdControl(new QCheckBox(tr("Pings, pongs and closes too"), this))
    , m_heldStatus(new QLabel(this))
    , m_pausedStatus(new QLabel(this))
    , m_heldModel(new HeldMessagesModel(this))
    , m_held(new QTableView(this))
    , m_editFormat(new QComboBox(this))
    , m_editor(new QPlainTextEdit(this))
    , m_release(new QPushButton(tr("Release"), this))
    , m_releaseEdited(new QPushButton(tr("Release edited"), this))
    , m_drop(new QPushButton(tr("Drop"), this))
    , m_releaseAll(new QPushButton(tr("Release all"), this))
    , m_dropAll(new QPushButton(tr("Drop all"), this))
    , m_pauseWatch(new QTimer(this))
    , m_targetPair(new QLabel(this))
    , m_injectDirection(new QComboBox(this))
    , m_injectKind(new QComboBox(this))
    , m_injectPayload(new QLineEdit(this))
    , m_injectCode(new QSpinBox(this))
    , m_inject(new QPushButton(tr("Inject"), this))
    , m_loadFromLog(new QPushButton(tr("&Load from selected log row"), this))
    , m_faultsEdit(new RelayFaultsEdit(this))
    , m_applyFaults(new QPushButton(tr("Apply"), this))
    , m_faultsSummary(new QLabel(this))
    , m_cutLeg(new QComboBox(this))
    , m_cutClose(new QPushButton(tr("Close it (1001)"), this))
    , m_cutReset(new QPushButton(tr("Reset it (RST)"), this))
    , m_actionResult(new QLabel(this)) {
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
    m_mode->setObjectName(QStringLiteral("relayMode"));
    m_mode->addItem(tr("Reverse relay (listen \u2192 target)"), int(Mode::Reverse));
    m_mode->addItem(tr("HTTP proxy (browser/app points at it)"), int(Mode::Proxy));
    // The dock stays narrow: the combo does not widen to its longest mode's text.
    m_mode->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_mode->setMinimumContentsLength(16);
    m_mode->setToolTip(tr("Reverse relay: clients connect to the relay, which connects to the "
                          "target. HTTP proxy: a browser or an application uses the relay as "
                          "its proxy, and every WebSocket it opens is relayed to where it "
                          "asked (wss too, with the local certificate authority)."));
    m_blindHosts->setObjectName(QStringLiteral("relayBlindHosts"));
    m_blindHosts->setPlaceholderText(tr("none: every tunnel is looked into"));
    m_blindHosts->setToolTip(tr("Comma-separated hosts whose CONNECT tunnels are passed through "
                                "undecoded, their TLS left to the two ends (a host that pins "
                                "its certificate)"));
    m_blindHosts->setClearButtonEnabled(true);
    m_caDirectory->setObjectName(QStringLiteral("relayCaDirectory"));
    m_caDirectory->setPlaceholderText(CertificateAuthority::defaultDirectory());
    m_caDirectory->setToolTip(tr("Where the local certificate authority is kept (ca.crt, and "
                                 "ca.key readable by you only); made there on first use"));
    m_caDirectory->setClearButtonEnabled(true);
    m_caDirectoryBrowse->setText(tr("\u2026"));
    m_caDirectoryBrowse->setToolTip(tr("Choose the certificate authority's directory"));
    connect(m_caDirectoryBrowse, &QToolButton::clicked, this, [this] {
        const QString directory = QFileDialog::getExistingDirectory(
            this, tr("Certificate authority directory"), m_caDirectory->text());
        if (!directory.isEmpty())
            m_caDirectory->setText(directory);
    });
    m_caButton->setObjectName(QStringLiteral("relayCaButton"));
    m_caButton->setToolTip(tr("The proxy's certificate authority: its fingerprint and SPKI pin, "
                              "its certificate to export, how to make a browser trust it"));
    connect(m_caButton, &QPushButton::clicked, this, [this] { showCertificateAuthority(); });
    m_proxyHint->setObjectName(QStringLiteral("relayProxyHint"));
    m_proxyHint->setWordWrap(true);
    m_proxyHint->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_proxyHint->hide();
    m_clientDeflate->setToolTip(tr("Agree to a client's permessage-deflate offer (RFC 7692) on "
                                   "the leg between the client and the relay"));
    m_serverDeflate->setToolTip(tr("Offer permessage-deflate to the upstream server on the leg "
                                   "between the relay and the server"));
    m_trust->caFileEdit()->setToolTip(tr("wss upstream: a PEM file of certificate authorities "
                                         "(or the server's own certificate) trusted besides "
                                         "the system's"));
    m_trust->fingerprintEdit()->setToolTip(tr("wss upstream: accept exactly this certificate "
                                              "although it cannot be verified (a self-signed "
                                              "test server)"));
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
    m_pairs->header()->setResizeContentsPrecision(0); // as the Connections tree
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
    auto *caDirectoryRow = new QHBoxLayout;
    m_caDirectoryRow = caDirectoryRow;
    caDirectoryRow->addWidget(m_caDirectory, 1);
    caDirectoryRow->addWidget(m_caDirectoryBrowse);
    auto *startRow = new QHBoxLayout;
    startRow->addWidget(m_start);
    startRow->addWidget(m_status, 1);
    auto *form = new QFormLayout;
    m_form = form;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->addRow(tr("Mode:"), m_mode);
    form->addRow(tr("Listen on:"), listenRow);
    form->addRow(QString(), m_addressWarning);
    form->addRow(m_listeningTls);
    form->addRow(tr("Relay to:"), m_target);
    form->addRow(tr("Blind hosts:"), m_blindHosts);
    form->addRow(tr("CA directory:"), caDirectoryRow);
    form->addRow(m_clientDeflate);
    form->addRow(m_serverDeflate);
    form->addRow(m_trust);
    // A row of its own: beside Start it would widen the dock past a 1024-pixel window.
    auto *caButtonRow = new QHBoxLayout;
    caButtonRow->addWidget(m_caButton);
    caButtonRow->addStretch(1);
    form->addRow(QString(), caButtonRow);
    auto *setup = new QWidget(this);
    auto *setupLayout = new QVBoxLayout(setup);
    setupLayout->addLayout(form);
    setupLayout->addLayout(startRow);
    setupLayout->addWidget(m_error);
    setupLayout->addWidget(m_proxyHint);
    setupLayout->addWidget(m_pairs, 2);
    setupLayout->addWidget(m_log, 1);
    m_tabs->setObjectName(QStringLiteral("relayTabs"));
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(setup, tr("Relay"));
    m_tabs->addTab(createInterceptPage(), tr("Intercept"));
    m_tabs->addTab(createInjectPage(), tr("Inject && faults"));
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_tabs);

    loadSettings();
    connect(m_address, &QLineEdit::textChanged, this, &RelayPanel::updateForm);
    connect(m_mode, &QComboBox::currentIndexChanged, this, &RelayPanel::updateForm);
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
    // The target pair is the newest live one, found by walking the relay's nodes: once
    // per burst of changes, not per pair that comes or goes.
    auto *targetPairUpdate = new QTimer(this);
    targetPairUpdate->setSingleShot(true);
    targetPairUpdate->setInterval(TargetPairUpdateMs);
    connect(targetPairUpdate, &QTimer::timeout, this, &RelayPanel::updateTargetPair);
    const auto scheduleTargetPairUpdate = [targetPairUpdate] {
        if (!targetPairUpdate->isActive())
            targetPairUpdate->start();
    };
    connect(hub, &ConnectionHub::endpointsChanged, this,
            [this, scheduleTargetPairUpdate](const QList<quint32> &ids) {
                if (ids.contains(m_relayId))
                    updateForm();
                scheduleTargetPairUpdate();
            });
    connect(hub, &ConnectionHub::endpointAdded, this, scheduleTargetPairUpdate);
    connect(m_pairs->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &RelayPanel::updateTargetPair);
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
        m_heldModel->setRelay(nullptr);
        m_pauseWatch->stop();
        updateProxyHint();
        updatePausedStatus();
        updateHeldStatus();
        emit stopped(relayId);
        updateForm();
    });
    updateForm();
    updateHeldStatus();
    updateHeldActions();
    updateFaultsSummary();
    updateTargetPair();
}

RelayPanel::~RelayPanel() = default;

void RelayPanel::loadSettings() {
    const QSettings settings;
    m_address->setText(settings.value(AddressKey, QStringLiteral("127.0.0.1")).toString());
    m_port->setValue(settings.value(PortKey, DefaultPort).toInt());
    m_target->setText(settings.value(TargetKey, QStringLiteral("ws://127.0.0.1:9001/")).toString());
    m_clientDeflate->setChecked(settings.value(ClientDeflateKey, true).toBool());
    m_serverDeflate->setChecked(settings.value(ServerDeflateKey, true).toBool());
    m_trust->loadSettings(settings, CaFileKey, FingerprintKey);
    m_listeningTls->loadSettings(settings, SettingsGroup);
    setMode(settings.value(ModeKey).toString() == ProxyModeName ? Mode::Proxy : Mode::Reverse);
    m_blindHosts->setText(settings.value(BlindHostsKey).toString());
    m_caDirectory->setText(
        settings.value(CaDirectoryKey, CertificateAuthority::defaultDirectory()).toString());
    // A seed is drawn the first time, then kept: a run can be repeated.
    bool seedOk = false;
    const quint64 seed = settings.value(FaultSeedKey).toULongLong(&seedOk);
    m_faultsEdit->setSeed(seedOk ? seed : RelayFaultsEdit::drawSeed());
}

void RelayPanel::saveSettings() const {
    QSettings settings;
    settings.setValue(AddressKey, m_address->text().trimmed());
    settings.setValue(PortKey, m_port->value());
    settings.setValue(TargetKey, m_target->text().trimmed());
    settings.setValue(ClientDeflateKey, m_clientDeflate->isChecked());
    settings.setValue(ServerDeflateKey, m_serverDeflate->isChecked());
    m_trust->saveSettings(settings, CaFileKey, FingerprintKey);
    m_listeningTls->saveSettings(settings, SettingsGroup);
    settings.setValue(ModeKey, mode() == Mode::Proxy ? ProxyModeName : QStringLiteral("reverse"));
    settings.setValue(BlindHostsKey, m_blindHosts->text().trimmed());
    settings.setValue(CaDirectoryKey, m_caDirectory->text().trimmed());
    settings.setValue(FaultSeedKey, QString::number(m_faultsEdit->seed()));
}

RelayPanel::Mode RelayPanel::mode() const {
    return m_mode->currentData().toInt() == int(Mode::Proxy) ? Mode::Proxy : Mode::Reverse;
}

void RelayPanel::setMode(Mode mode) {
    m_mode->setCurrentIndex(m_mode->findData(int(mode)));
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
    // A proxy has no target: each pair goes where its client asked.
    if (mode() == Mode::Reverse) {
        const QUrl target(m_target->text().trimmed(), QUrl::StrictMode);
        QString urlError;
        if (!parseWebSocketUrl(target, &urlError))
            problems.append(tr("Relay to: %1").arg(urlError));
        options.target = target;
        if (m_listeningTls->choice() != ListeningTlsEdit::Choice::Off) {
            QString why;
            if (const std::optional<CertificateAndKey> identity = m_listeningTls->identity(&why)) {
                options.certificate = identity->certificate;
                options.key = identity->key;
            } else {
                problems.append(tr("TLS: %1").arg(why));
            }
        }
    }
    if (!m_clientDeflate->isChecked())
        options.clientDeflate.policy = DeflatePolicy::Refuse;
    if (!m_serverDeflate->isChecked())
        options.serverDeflate.policy = DeflatePolicy::Refuse;
    options.upstream.caCertificatesFile = m_trust->caFile();
    options.upstream.acceptedFingerprint = m_trust->acceptedFingerprint();
    problems.append(m_trust->problems());
    options.closeTimeoutMs = StopTimeoutMs;
    if (error)
        *error = problems.join(QLatin1Char('\n'));
    return options;
}

RelayProxyOptions RelayPanel::proxyOptions(QString *error) const {
    RelayProxyOptions proxy;
    proxy.relay = options(error);
    proxy.caDirectory = m_caDirectory->text().trimmed();
    for (const QString &host : m_blindHosts->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        if (!host.trimmed().isEmpty())
            proxy.blindHosts.append(host.trimmed());
    }
    return proxy;
}

bool RelayPanel::start() {
    if (isRunning())
        return true;
    saveSettings();
    QString error;
    quint32 id = 0;
    if (mode() == Mode::Proxy) {
        const RelayProxyOptions form = proxyOptions(&error);
        if (error.isEmpty())
            id = m_hub->startRelayProxy(form, &error);
    } else {
        const RelayOptions form = options(&error);
        if (error.isEmpty())
            id = m_hub->startRelay(form, &error);
    }
    if (id) {
        m_relayId = id;
        m_stopping = false;
        m_log->clear();
        showError({});
        rootPairList();
        Relay *relay = m_hub->relay(id);
        m_heldModel->setRelay(relay);
        connect(relay, &Relay::heldChanged, this, &RelayPanel::updateHeldStatus);
        applyIntercept();
        RelayFaults faults = relay->faults();
        faults.seed = m_faultsEdit->seed();
        relay->setFaults(faults);
        updateFaultsSummary();
        m_pauseWatch->start();
        updateForm();
        updateProxyHint();
        emit started(id);
        return true;
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

RelayProxy *RelayPanel::runningProxy() const {
    return isRunning() ? m_hub->relayProxy(m_relayId) : nullptr;
}

quint16 RelayPanel::boundPort() const {
    if (const RelayProxy *proxy = runningProxy())
        return proxy->port();
    const Relay *relay = isRunning() ? m_hub->relay(m_relayId) : nullptr;
    return relay ? relay->port() : 0;
}

QString RelayPanel::listeningUrl() const {
    if (const RelayProxy *proxy = runningProxy())
        return QStringLiteral("http://%1:%2").arg(urlHost(proxy->address())).arg(proxy->port());
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
    for (QWidget *widget : std::initializer_list<QWidget *>{
             m_mode, m_address, m_port, m_target, m_listeningTls, m_clientDeflate, m_serverDeflate,
             m_trust, m_blindHosts, m_caDirectory, m_caDirectoryBrowse})
        widget->setEnabled(editable);
    const bool proxy = mode() == Mode::Proxy;
    m_form->setRowVisible(m_target, !proxy);
    m_form->setRowVisible(m_listeningTls, !proxy);
    m_form->setRowVisible(m_blindHosts, proxy);
    m_form->setRowVisible(m_caDirectoryRow, proxy);
    m_addressWarning->setVisible(!m_address->text().trimmed().isEmpty() &&
                                 !isLoopback(m_address->text()));
    m_start->setText(running ? (m_stopping ? tr("Stopping\u2026") : tr("Stop")) : tr("Start"));
    m_start->setEnabled(!m_stopping);
    if (running && !m_stopping && runningProxy())
        m_status->setText(tr("Proxy listening on %1").arg(listeningUrl()));
    else if (running && !m_stopping) {
        const RelayOptions &options = m_hub->relay(m_relayId)->options();
        QString status =
            tr("Listening on %1 \u2192 %2").arg(listeningUrl(), options.target.toString());
        // As `wsw relay --tls` prints it: what a client is to trust.
        if (!options.certificate.isNull())
            status += tr(" (certificate SHA-256 %1)").arg(sha256Fingerprint(options.certificate));
        m_status->setText(status);
    }
}

void RelayPanel::updateProxyHint() {
    const RelayProxy *proxy = runningProxy();
    const CertificateAuthority *authority = proxy ? proxy->certificateAuthority() : nullptr;
    m_proxyHint->setVisible(authority != nullptr);
    if (!authority) {
        m_proxyHint->clear();
        return;
    }
    // Chromium bypasses its proxy for loopback unless told not to, and trusts the
    // authority's certificates when its key is pinned (see the trust steps).
    const QString url = listeningUrl();
    m_proxyHint->setText(
        tr("Point the browser or application at the proxy %1 (http_proxy / https_proxy).\n"
           "Chromium: chromium --proxy-server=%1 --proxy-bypass-list='<-loopback>' "
           "--ignore-certificate-errors-spki-list=%2")
            .arg(url, certificateAuthorityInfo(*authority).spkiSha256Base64));
}

std::optional<CertificateAuthority> RelayPanel::openAuthority(QString *error) const {
    if (const RelayProxy *proxy = runningProxy(); proxy && proxy->certificateAuthority())
        return *proxy->certificateAuthority();
    return CertificateAuthority::open(m_caDirectory->text().trimmed(), error);
}

QDialog *RelayPanel::certificateAuthorityDialog() const {
    return m_caDialog;
}

bool RelayPanel::exportCertificateAuthorityTo(const QString &file, QString *error) {
    QString problem;
    const std::optional<CertificateAuthority> authority = openAuthority(&problem);
    const bool ok = authority && exportCertificateAuthority(*authority, file, &problem);
    emit statusMessage(ok ? tr("Certificate authority exported to %1").arg(file)
                          : tr("Cannot export the certificate authority: %1").arg(problem));
    if (error)
        *error = problem;
    return ok;
}

QDialog *RelayPanel::showCertificateAuthority() {
    QString error;
    const std::optional<CertificateAuthority> authority = openAuthority(&error);
    if (!authority) {
        showError(tr("Certificate authority: %1").arg(error));
        return nullptr;
    }
    delete m_caDialog;
    const CertificateAuthorityInfo about = certificateAuthorityInfo(*authority);
    auto *dialog = new QDialog(this);
    m_caDialog = dialog;
    dialog->setObjectName(QStringLiteral("certificateAuthorityDialog"));
    dialog->setWindowTitle(tr("Certificate authority"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    auto *form = new QFormLayout;
    // A read-only line with a Copy button: what a user pastes elsewhere.
    const auto addCopyable = [dialog, form](const QString &label, const QString &name,
                                            const QString &value) {
        auto *edit = new QLineEdit(value, dialog);
        edit->setObjectName(name);
        edit->setReadOnly(true);
        edit->setCursorPosition(0);
        auto *copy = new QPushButton(tr("Copy"), dialog);
        copy->setObjectName(name + QStringLiteral("Copy"));
        connect(copy, &QPushButton::clicked, edit,
                [edit] { QApplication::clipboard()->setText(edit->text()); });
        auto *row = new QHBoxLayout;
        row->addWidget(edit, 1);
        row->addWidget(copy);
        form->addRow(label, row);
    };
    addCopyable(tr("Certificate:"), QStringLiteral("caFile"), about.certificateFile);
    addCopyable(tr("SHA-256:"), QStringLiteral("caFingerprint"), about.fingerprint);
    addCopyable(tr("SPKI pin:"), QStringLiteral("caSpki"), about.spkiSha256Base64);
    auto *steps = new QPlainTextEdit(certificateAuthorityTrustSteps(about.certificateFile), dialog);
    steps->setObjectName(QStringLiteral("caTrustSteps"));
    steps->setReadOnly(true);
    steps->setMinimumWidth(fontMetrics().averageCharWidth() * 80);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
    auto *exportButton =
        buttons->addButton(tr("Export certificate\u2026"), QDialogButtonBox::ActionRole);
    exportButton->setObjectName(QStringLiteral("caExport"));
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    connect(exportButton, &QPushButton::clicked, dialog, [this, dialog] {
        const QString file = QFileDialog::getSaveFileName(
            dialog, tr("Export the certificate authority"), QStringLiteral("wsw-relay-ca.crt"),
            tr("PEM certificates (*.crt *.pem);;All files (*)"));
        if (!file.isEmpty())
            exportCertificateAuthorityTo(file);
    });
    auto *layout = new QVBoxLayout(dialog);
    layout->addLayout(form);
    layout->addWidget(new QLabel(tr("To trust it:"), dialog));
    layout->addWidget(steps, 1);
    layout->addWidget(buttons);
    dialog->show();
    return dialog;
}

QWidget *RelayPanel::createInterceptPage() {
    auto *page = new QWidget(this);
    m_holdUp->setObjectName(QStringLiteral("holdUp"));
    m_holdDown->setObjectName(QStringLiteral("holdDown"));
    m_holdUp->setToolTip(tr("Keep what the client sends in the list below until you release, "
                            "edit or drop it"));
    m_holdDown->setToolTip(tr("Keep what the server sends in the list below until you release, "
                              "edit or drop it"));
    m_rule->setObjectName(QStringLiteral("interceptRule"));
    m_rule->setPlaceholderText(tr("every message, or a rule: text contains \"order\""));
    m_rule->setToolTip(tr("Which messages are held, in the log's display filter language: a "
                          "message is held when the log would show one of its two rows under "
                          "the rule (received on one leg, sent on the other), as `wsw relay "
                          "--hold` decides. text, json.type, len, kind; leg == client && dir == "
                          "in: what the client sent; leg == client && dir == out: what goes to "
                          "it; conn == \"relay 1 #2 server\". Empty: every message."));
    m_holdControl->setToolTip(tr("Hold control frames as well. A held ping makes its round trip "
                                 "a measure of you; a held close keeps the peer's close "
                                 "handshake waiting."));
    m_heldStatus->setObjectName(QStringLiteral("heldStatus"));
    m_pausedStatus->setObjectName(QStringLiteral("pausedStatus"));
    m_pausedStatus->setWordWrap(true);
    m_pausedStatus->setStyleSheet(QStringLiteral("color: #b71c1c;"));
    m_pausedStatus->hide();
    m_held->setObjectName(QStringLiteral("heldList"));
    m_held->setModel(m_heldModel);
    m_held->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_held->setSelectionMode(QAbstractItemView::SingleSelection);
    m_held->verticalHeader()->hide();
    m_held->horizontalHeader()->setStretchLastSection(true);
    m_held->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_held->setMinimumHeight(fontMetrics().height() * 5);
    m_editFormat->addItem(tr("Text"), TextFormat);
    m_editFormat->addItem(tr("Hex"), HexFormat);
    m_editFormat->setToolTip(tr("Text goes out as a text message, hex as a binary one"));
    m_editor->setObjectName(QStringLiteral("heldEditor"));
    m_editor->setPlaceholderText(tr("the selected message's payload, to edit before releasing"));
    m_editor->setMaximumHeight(fontMetrics().height() * 5);
    m_release->setToolTip(tr("Let the selected message go as it came"));
    m_releaseEdited->setToolTip(tr("Let the selected message go with the payload above"));
    m_drop->setToolTip(tr("Never forward the selected message (the log notes it)"));

    auto *holdRow = new QHBoxLayout;
    holdRow->addWidget(m_holdUp);
    holdRow->addWidget(m_holdDown);
    holdRow->addStretch(1);
    auto *editRow = new QHBoxLayout;
    editRow->addWidget(m_editFormat);
    editRow->addWidget(m_release);
    editRow->addWidget(m_releaseEdited);
    editRow->addWidget(m_drop);
    editRow->addStretch(1);
    auto *allRow = new QHBoxLayout;
    allRow->addWidget(m_heldStatus, 1);
    allRow->addWidget(m_releaseAll);
    allRow->addWidget(m_dropAll);
    auto *layout = new QVBoxLayout(page);
    layout->addLayout(holdRow);
    layout->addWidget(m_rule);
    layout->addWidget(m_rule->statusLabel());
    layout->addWidget(m_holdControl);
    layout->addLayout(allRow);
    layout->addWidget(m_pausedStatus);
    layout->addWidget(m_held, 1);
    layout->addWidget(m_editor);
    layout->addLayout(editRow);

    connect(m_holdUp, &QCheckBox::toggled, this, &RelayPanel::applyIntercept);
    connect(m_holdDown, &QCheckBox::toggled, this, &RelayPanel::applyIntercept);
    connect(m_holdControl, &QCheckBox::toggled, this, &RelayPanel::applyIntercept);
    connect(m_rule, &DisplayFilterEdit::filterChanged, this, &RelayPanel::applyIntercept);
    connect(m_held->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this] {
        loadEditor();
        updateHeldActions();
    });
    connect(m_editFormat, &QComboBox::currentIndexChanged, this, &RelayPanel::loadEditor);
    // A refresh resets the list: the message that was selected stays selected.
    connect(m_heldModel, &QAbstractItemModel::modelAboutToBeReset, this,
            [this] { m_held->setProperty("restoreHeld", QVariant::fromValue(selectedHeld())); });
    connect(m_heldModel, &QAbstractItemModel::modelReset, this, [this] {
        const quint64 id = m_held->property("restoreHeld").toULongLong();
        if (id && m_heldModel->rowOf(id) >= 0)
            selectHeld(id);
        else if (m_heldModel->rowCount() > 0 && !m_held->currentIndex().isValid())
            m_held->setCurrentIndex(m_heldModel->index(0, 0));
        updateHeldActions();
        updateHeldStatus();
    });
    connect(m_release, &QPushButton::clicked, this, [this] {
        Relay *relay = runningRelay();
        if (relay && selectedHeld())
            reportAction(relay->release(selectedHeld()), tr("Released"));
        m_heldModel->refresh();
    });
    connect(m_releaseEdited, &QPushButton::clicked, this, [this] {
        Relay *relay = runningRelay();
        const quint64 id = selectedHeld();
        if (!relay || !id)
            return;
        const bool hex = m_editFormat->currentData().toInt() == HexFormat;
        const std::optional<QByteArray> payload =
            hex ? parseHex(m_editor->toPlainText())
                : std::optional<QByteArray>(m_editor->toPlainText().toUtf8());
        if (!payload) {
            reportAction(false, tr("Not released: the payload is not hex (pairs of 0-9, a-f)"));
            return;
        }
        reportAction(relay->release(id, hex ? Opcode::Binary : Opcode::Text, *payload),
                     tr("Released, edited"));
        m_heldModel->refresh();
    });
    connect(m_drop, &QPushButton::clicked, this, [this] {
        Relay *relay = runningRelay();
        if (relay && selectedHeld())
            reportAction(relay->drop(selectedHeld()), tr("Dropped"));
        m_heldModel->refresh();
    });
    connect(m_releaseAll, &QPushButton::clicked, this, [this] {
        if (Relay *relay = runningRelay())
            reportAction(true, tr("Released %n message(s)", nullptr, relay->releaseAll()));
        m_heldModel->refresh();
    });
    connect(m_dropAll, &QPushButton::clicked, this, [this] {
        if (Relay *relay = runningRelay())
            reportAction(true, tr("Dropped %n message(s)", nullptr, relay->dropAll()));
        m_heldModel->refresh();
    });
    m_pauseWatch->setInterval(PauseWatchMs);
    connect(m_pauseWatch, &QTimer::timeout, this, &RelayPanel::updatePausedStatus);
    return page;
}

QWidget *RelayPanel::createInjectPage() {
    auto *page = new QWidget(this);
    m_targetPair->setObjectName(QStringLiteral("injectPair"));
    m_targetPair->setWordWrap(true);
    m_injectDirection->addItem(tr("to the server (as if from the client)"),
                               int(RelayLegKind::Server));
    m_injectDirection->addItem(tr("to the client (as if from the server)"),
                               int(RelayLegKind::Client));
    m_injectKind->addItem(tr("Text"), InjectText);
    m_injectKind->addItem(tr("Binary (hex)"), InjectBinary);
    m_injectKind->addItem(tr("Ping"), InjectPing);
    m_injectKind->addItem(tr("Close"), InjectClose);
    m_injectPayload->setObjectName(QStringLiteral("injectPayload"));
    m_injectPayload->setPlaceholderText(tr("payload (a close: its reason)"));
    m_injectCode->setRange(1000, 4999);
    m_injectCode->setValue(1000);
    m_injectCode->setToolTip(tr("A close's code (RFC 6455 §7.4)"));
    m_inject->setObjectName(QStringLiteral("inject"));
    m_inject->setToolTip(tr("Put it on that leg's wire now, after what waits in that direction"));
    m_loadFromLog->setObjectName(QStringLiteral("loadFromLog"));
    m_loadFromLog->setToolTip(tr("The message or ping selected in the log, with its pair: "
                                 "Inject then sends it again, to either side"));
    m_cutLeg->addItem(tr("client leg"), int(RelayLegKind::Client));
    m_cutLeg->addItem(tr("server leg"), int(RelayLegKind::Server));
    m_faultsSummary->setObjectName(QStringLiteral("faultsSummary"));
    m_faultsSummary->setWordWrap(true);
    m_cutClose->setToolTip(tr("A close frame with 1001 on that leg; the other leg is closed as "
                              "when that peer goes"));
    m_cutReset->setToolTip(tr("A TCP reset on that leg: its peer sees 1006; the other leg is "
                              "closed with 1011"));
    m_actionResult->setObjectName(QStringLiteral("actionResult"));
    m_actionResult->setWordWrap(true);

    auto *injectBox = new QGroupBox(tr("Inject into the pair"), page);
    auto *injectForm = new QFormLayout(injectBox);
    injectForm->addRow(m_targetPair);
    injectForm->addRow(QString(), m_loadFromLog);
    injectForm->addRow(tr("Direction:"), m_injectDirection);
    auto *kindRow = new QHBoxLayout;
    kindRow->addWidget(m_injectKind);
    kindRow->addWidget(m_injectCode);
    injectForm->addRow(tr("Kind:"), kindRow);
    injectForm->addRow(tr("Payload:"), m_injectPayload);
    injectForm->addRow(QString(), m_inject);
    auto *faultsBox = new QGroupBox(tr("Faults, for every pair"), page);
    faultsBox->setToolTip(tr("A pair with faults of its own (the Connections tree's \"Faults for "
                             "this pair\u2026\") keeps them"));
    auto *faultsForm = new QFormLayout(faultsBox);
    faultsForm->addRow(m_faultsEdit);
    faultsForm->addRow(QString(), m_applyFaults);
    faultsForm->addRow(m_faultsSummary);
    auto *cutBox = new QGroupBox(tr("Cut a leg of the pair"), page);
    auto *cutRow = new QHBoxLayout(cutBox);
    cutRow->addWidget(m_cutLeg);
    cutRow->addWidget(m_cutClose);
    cutRow->addWidget(m_cutReset);
    auto *layout = new QVBoxLayout(page);
    layout->addWidget(injectBox);
    layout->addWidget(faultsBox);
    layout->addWidget(cutBox);
    layout->addWidget(m_actionResult);
    layout->addStretch(1);

    connect(m_inject, &QPushButton::clicked, this, &RelayPanel::injectNow);
    connect(m_injectPayload, &QLineEdit::returnPressed, this, &RelayPanel::injectNow);
    connect(m_loadFromLog, &QPushButton::clicked, this, &RelayPanel::loadFromLogRequested);
    connect(m_injectKind, &QComboBox::currentIndexChanged, this, [this] {
        m_injectCode->setVisible(m_injectKind->currentData().toInt() == InjectClose);
    });
    m_injectCode->hide();
    connect(m_applyFaults, &QPushButton::clicked, this, &RelayPanel::applyFaults);
    connect(m_cutClose, &QPushButton::clicked, this, [this] { cutLeg(false); });
    connect(m_cutReset, &QPushButton::clicked, this, [this] { cutLeg(true); });
    return page;
}

QComboBox *RelayPanel::faultDirectionCombo() const {
    return m_faultsEdit->directionCombo();
}

QSpinBox *RelayPanel::latencySpin() const {
    return m_faultsEdit->latencySpin();
}

QSpinBox *RelayPanel::jitterSpin() const {
    return m_faultsEdit->jitterSpin();
}

QSpinBox *RelayPanel::throttleSpin() const {
    return m_faultsEdit->throttleSpin();
}

QDoubleSpinBox *RelayPanel::dropRateSpin() const {
    return m_faultsEdit->dropRateSpin();
}

Relay *RelayPanel::runningRelay() const {
    return isRunning() ? m_hub->relay(m_relayId) : nullptr;
}

void RelayPanel::applyIntercept() {
    Relay *relay = runningRelay();
    if (!relay)
        return;
    // A rule that does not compile holds nothing new; the field says why.
    if (m_rule->state() == DisplayFilterEdit::State::Invalid)
        return;
    QList<InterceptRule> rules;
    for (const auto &[check, to] :
         {std::pair{m_holdUp, RelayLegKind::Server}, std::pair{m_holdDown, RelayLegKind::Client}}) {
        if (!check->isChecked())
            continue;
        InterceptRule rule = InterceptRule::all(InterceptRule::Action::Hold, to);
        rule.filter = log::DisplayFilter::compile(m_rule->text());
        rule.controlFrames = m_holdControl->isChecked();
        rules.append(rule);
    }
    relay->setIntercept(rules);
}

quint64 RelayPanel::selectedHeld() const {
    const QModelIndex current = m_held->currentIndex();
    return current.isValid() ? current.data(HeldMessagesModel::HeldIdRole).toULongLong() : 0;
}

void RelayPanel::selectHeld(quint64 id) {
    const int row = m_heldModel->rowOf(id);
    if (row >= 0)
        m_held->setCurrentIndex(m_heldModel->index(row, 0));
}

void RelayPanel::loadEditor() {
    const HeldMessage *message = m_heldModel->message(m_held->currentIndex().row());
    if (!message) {
        m_editor->clear();
        return;
    }
    const bool hex = m_editFormat->currentData().toInt() == HexFormat;
    m_editor->setPlainText(hex ? QString::fromLatin1(message->payload.toHex(' '))
                               : QString::fromUtf8(message->payload));
}

void RelayPanel::updateHeldActions() {
    const QModelIndex current = m_held->currentIndex();
    const bool held = current.isValid() && current.data(HeldMessagesModel::IsHeldRole).toBool();
    m_release->setEnabled(held);
    m_releaseEdited->setEnabled(held);
    m_drop->setEnabled(current.isValid());
    m_releaseAll->setEnabled(m_heldModel->rowCount() > 0);
    m_dropAll->setEnabled(m_heldModel->rowCount() > 0);
}

void RelayPanel::updateHeldStatus() {
    const Relay *relay = runningRelay();
    const int count = relay ? relay->heldCount() : 0;
    if (count == 0) {
        m_heldStatus->setText(tr("Nothing held"));
        return;
    }
    m_heldStatus->setText(tr("Held: %n message(s), %1", nullptr, count)
                              .arg(QLocale::system().formattedDataSize(
                                  relay->heldBytes(), 1, QLocale::DataSizeTraditionalFormat)));
}

void RelayPanel::updatePausedStatus() {
    // A leg is not read while the other cannot write fast enough, or while the pair
    // keeps more than it may hold back: its peer is slowed down by TCP.
    QStringList paused;
    for (const quint32 pair : m_hub->livePairsOf(m_relayId)) {
        for (const log::Leg side : {log::Leg::Client, log::Leg::Server}) {
            const quint32 id = m_hub->legOf(pair, side);
            const EndpointInfo *info = m_hub->info(id);
            if (!info || info->finished)
                continue;
            Connection *connection = m_hub->connection(id);
            bool isPaused = false;
            if (const auto *leg = qobject_cast<RelayLeg *>(connection))
                isPaused = leg->isReadingPaused();
            else if (const auto *upstream = qobject_cast<ClientConnection *>(connection))
                isPaused = upstream->isReadingPaused();
            if (isPaused)
                paused.append(info->name);
        }
    }
    m_pausedStatus->setVisible(!paused.isEmpty());
    m_pausedStatus->setText(
        tr("\u23F8 Not read (back-pressure): %1").arg(paused.join(QStringLiteral(", "))));
}

quint32 RelayPanel::targetPair() const {
    if (const quint32 selected = selectedPair())
        return selected;
    const QList<quint32> live = m_hub->livePairsOf(m_relayId);
    return live.isEmpty() ? 0 : live.constLast();
}

void RelayPanel::updateTargetPair() {
    const EndpointInfo *info = m_hub->info(targetPair());
    m_targetPair->setText(info ? tr("Pair: %1 (%2)").arg(info->name, info->address)
                               : tr("No pair yet: connect a client to the relay"));
    const bool any = info != nullptr;
    m_inject->setEnabled(any);
    m_cutClose->setEnabled(any);
    m_cutReset->setEnabled(any);
}

void RelayPanel::reportAction(bool ok, const QString &text) {
    m_actionResult->setStyleSheet(ok ? QString() : QStringLiteral("color: #b71c1c;"));
    m_actionResult->setText(text);
    if (!ok)
        emit statusMessage(text);
}

void RelayPanel::injectNow() {
    Relay *relay = runningRelay();
    const quint64 pair = m_hub->relayPairNumber(targetPair());
    if (!relay || !pair) {
        reportAction(false, tr("Not injected: no pair"));
        return;
    }
    const RelayLegKind to = legData(m_injectDirection);
    const QString text = m_injectPayload->text();
    const int kind = m_injectKind->currentData().toInt();
    // A logged message sent as it was is a message sent again, and noted so.
    const bool resent = m_loaded && m_loaded->pair == targetPair() && m_loaded->kind == kind &&
                        m_loaded->text == text;
    bool ok = false;
    if (resent) {
        const Opcode opcode = kind == InjectText     ? Opcode::Text
                              : kind == InjectBinary ? Opcode::Binary
                                                     : Opcode::Ping;
        ok = relay->resend(pair, to, opcode, m_loaded->payload);
        reportAction(ok, ok ? tr("Resent %1 to the %2")
                                  .arg(m_injectKind->currentText(), QLatin1String(relayLegName(to)))
                            : tr("Not resent: that leg of the pair is not open"));
        return;
    }
    switch (kind) {
    case InjectText:
        ok = relay->inject(pair, to, Opcode::Text, text.toUtf8());
        break;
    case InjectBinary: {
        const std::optional<QByteArray> bytes = parseHex(text);
        if (!bytes) {
            reportAction(false, tr("Not injected: the payload is not hex (pairs of 0-9, a-f)"));
            return;
        }
        ok = relay->inject(pair, to, Opcode::Binary, *bytes);
        break;
    }
    case InjectPing:
        ok = relay->inject(pair, to, Opcode::Ping, text.toUtf8());
        break;
    case InjectClose:
        ok = relay->injectClose(pair, to, quint16(m_injectCode->value()), text);
        break;
    }
    reportAction(ok, ok ? tr("Injected %1 to the %2")
                              .arg(m_injectKind->currentText(), QLatin1String(relayLegName(to)))
                        : tr("Not injected: that leg of the pair is not open"));
}

void RelayPanel::loadInject(quint32 pairId, RelayLegKind to, Opcode opcode,
                            const QByteArray &payload) {
    const QModelIndex pairIndex = m_model->indexOf(pairId);
    if (pairIndex.isValid())
        m_pairs->setCurrentIndex(pairIndex);
    m_injectDirection->setCurrentIndex(m_injectDirection->findData(int(to)));
    const int kind = opcode == Opcode::Text     ? InjectText
                     : opcode == Opcode::Binary ? InjectBinary
                                                : InjectPing;
    m_injectKind->setCurrentIndex(m_injectKind->findData(kind));
    const QString text =
        kind == InjectBinary ? QString::fromLatin1(payload.toHex(' ')) : QString::fromUtf8(payload);
    m_injectPayload->setText(text);
    m_loaded = LoadedRow{pairId, kind, text, payload};
    const EndpointInfo *info = m_hub->info(pairId);
    reportAction(
        true, tr("Loaded %n byte(s) of %1: Inject sends them again", nullptr, int(payload.size()))
                  .arg(info ? info->name : QString()));
}

void RelayPanel::applyFaults() {
    Relay *relay = runningRelay();
    if (!relay) {
        reportAction(false, tr("Start the relay first"));
        return;
    }
    // Both directions and the seed, as the form has them; the rest (a cut after N
    // messages) as the relay has it.
    const RelayFaults edited = m_faultsEdit->faults();
    RelayFaults faults = relay->faults();
    faults.up = edited.up;
    faults.down = edited.down;
    faults.seed = edited.seed;
    relay->setFaults(faults);
    saveSettings();
    updateFaultsSummary();
    reportAction(true, tr("Faults applied"));
}

void RelayPanel::updateFaultsSummary() {
    const Relay *relay = runningRelay();
    const RelayFaults faults = relay ? relay->faults() : RelayFaults{};
    QStringList lines;
    for (const RelayLegKind to : {RelayLegKind::Server, RelayLegKind::Client}) {
        const QString what = faults.toward(to).describe();
        if (!what.isEmpty())
            lines.append(QStringLiteral("%1: %2").arg(relayDirectionArrow(to), what));
    }
    // The seed decides only what is drawn: jitter and drops.
    const auto draws = [](const RelayDirectionFaults &f) {
        return f.jitterMs > 0 || f.dropPercent > 0;
    };
    if (relay && (draws(faults.up) || draws(faults.down)))
        lines.append(tr("seed %1: `wsw relay --seed %1` draws the same").arg(faults.seed));
    m_faultsSummary->setText(lines.isEmpty() ? tr("No faults staged")
                                             : lines.join(QLatin1Char('\n')));
    m_faultsSummary->setStyleSheet(lines.isEmpty() ? QString() : QStringLiteral("color: #6a1b9a;"));
}

void RelayPanel::cutLeg(bool reset) {
    Relay *relay = runningRelay();
    const quint64 pair = m_hub->relayPairNumber(targetPair());
    if (!relay || !pair) {
        reportAction(false, tr("Not cut: no pair"));
        return;
    }
    RelayCut how;
    how.style = reset ? RelayCut::Style::Reset : RelayCut::Style::Close;
    const RelayLegKind leg = legData(m_cutLeg);
    const bool ok = relay->cut(pair, leg, how);
    reportAction(ok, ok ? tr("Cut the %1 leg").arg(QLatin1String(relayLegName(leg)))
                        : tr("Not cut: that leg is not open"));
}

} // namespace ws
