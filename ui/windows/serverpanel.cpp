#include "serverpanel.h"

#include "connections/connectionhub.h"
#include "models/connectionsmodel.h"
#include "models/serverclientsproxy.h"
#include "net/tlscertificate.h"
#include "widgets/connectionstreeview.h"
#include "widgets/listeningtlsedit.h"
#include "widgets/misbehavioureditor.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPlainTextEdit>
#include <QPointer>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QToolButton>
#include <QTreeView>
#include <QVBoxLayout>

namespace ws {

namespace {

const QString PortKey = QStringLiteral("server/port");
const QString BindAllKey = QStringLiteral("server/bindAllInterfaces");
const QString ModeKey = QStringLiteral("server/mode");
const QString GreetingKey = QStringLiteral("server/greeting");
const QString OriginsKey = QStringLiteral("server/origins");
// tls, tlsCertificateFile and tlsKeyFile (ListeningTlsEdit).
const QString TlsGroup = QStringLiteral("server/");
const QString TlsKey = TlsGroup + QStringLiteral("tls");
const QString DeflateKey = QStringLiteral("server/acceptDeflate");
const QString MisbehaviourKey = QStringLiteral("server/misbehaviour");

// The window promises a bounded stop: closing handshakes get this long.
constexpr int StopTimeoutMs = 2000;

enum BindChoice { Loopback, AllInterfaces };

} // namespace

ServerPanel::ServerPanel(ConnectionHub *hub, QWidget *parent)
    : QWidget(parent)
    , m_hub(hub)
    , m_port(new QSpinBox(this))
    , m_bind(new QComboBox(this))
    , m_bindWarning(new QLabel(this))
    , m_mode(new QComboBox(this))
    , m_greeting(new QLineEdit(this))
    , m_origins(new QLineEdit(this))
    , m_tls(new ListeningTlsEdit(this))
    , m_deflate(new QCheckBox(tr("Accept permessage-deflate (RFC 7692)"), this))
    , m_start(new QPushButton(tr("Start"), this))
    , m_status(new QLabel(this))
    , m_link(new QLabel(this))
    , m_connections(new ConnectionsModel(hub, this))
    , m_clientsModel(new ServerClientsProxy(m_connections, this))
    , m_clients(new ConnectionsTreeView(m_connections, this))
    , m_message(new QLineEdit(this))
    , m_sendOne(new QPushButton(tr("To selected"), this))
    , m_sendAll(new QPushButton(tr("To all"), this))
    , m_disconnectCode(new QComboBox(this))
    , m_disconnect(new QPushButton(tr("Disconnect"), this))
    , m_log(new QPlainTextEdit(this))
    , m_misbehaveToggle(new QToolButton(this))
    , m_misbehaviour(new MisbehaviourEditor(this))
    , m_clientMisbehave(new QAction(tr("Misbehave\u2026"), this)) {
    m_port->setRange(0, 65535);
    m_port->setSpecialValueText(tr("any free port"));
    m_port->setToolTip(tr("TCP port; 0 picks any free one"));
    m_bind->addItem(tr("127.0.0.1 only"), Loopback);
    m_bind->addItem(tr("all interfaces"), AllInterfaces);
    m_bind->setToolTip(tr("127.0.0.1: only programs on this machine can connect. All interfaces "
                          "(0.0.0.0): any machine that can reach this one."));
    m_bindWarning->setText(tr("\u26A0 Reachable from other machines on your network: anyone "
                              "who can reach this port can connect."));
    m_bindWarning->setWordWrap(true);
    m_bindWarning->setStyleSheet(QStringLiteral("color: #b71c1c;"));
    m_bindWarning->setObjectName(QStringLiteral("bindWarning"));
    for (const auto mode : {ServerOptions::Mode::Echo, ServerOptions::Mode::Greeting,
                            ServerOptions::Mode::Broadcast, ServerOptions::Mode::Manual})
        m_mode->addItem(QLatin1String(modeName(mode)), int(mode));
    m_mode->setToolTip(tr("echo: each message back; greeting: a greeting on connect, then echo; "
                          "broadcast: every message to every client; manual: you send"));
    m_greeting->setPlaceholderText(tr("sent to each client on connect"));
    m_origins->setPlaceholderText(tr("any Origin (or list them: http://localhost:3000 \u2026)"));
    m_origins->setToolTip(tr("Allowed Origin header values, separated by spaces or commas; a "
                             "client with another Origin gets 403. Empty: any."));
    m_tls->setObjectName(QStringLiteral("serverTls"));
    m_deflate->setToolTip(
        tr("Accept a client's permessage-deflate offer (browsers always make one)"));
    m_start->setObjectName(QStringLiteral("serverStart"));
    m_status->setObjectName(QStringLiteral("serverStatus"));
    m_status->setWordWrap(true);
    m_link->setOpenExternalLinks(true);
    m_link->setTextInteractionFlags(Qt::TextBrowserInteraction);
    m_link->setObjectName(QStringLiteral("testPageLink"));

    m_clients->setModel(m_clientsModel);
    m_clients->setRootIsDecorated(false);
    m_clients->setItemsExpandable(false);
    m_clients->setSelectionMode(QAbstractItemView::SingleSelection);
    m_clients->setUniformRowHeights(true);
    m_clients->header()->setStretchLastSection(true);
    m_clients->setMinimumHeight(fontMetrics().height() * 4);
    m_disconnectCode->setMinimumContentsLength(8);
    m_disconnectCode->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_message->setPlaceholderText(tr("text to send from the server"));
    for (quint16 code = 1000; code <= 1014; ++code) {
        if (isValidOnWire(code))
            m_disconnectCode->addItem(
                QStringLiteral("%1 %2").arg(code).arg(QLatin1String(closeCodeMeaning(code))), code);
    }
    m_disconnectCode->addItem(QStringLiteral("4000 %1").arg(QLatin1String(closeCodeMeaning(4000))),
                              4000);
    m_disconnectCode->setCurrentIndex(m_disconnectCode->findData(1001));
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(500);
    m_log->setPlaceholderText(tr("Server log"));
    m_log->setMinimumHeight(fontMetrics().height() * 3 + 10);

    auto *portRow = new QHBoxLayout;
    portRow->addWidget(m_port);
    portRow->addWidget(m_bind, 1);
    auto *startRow = new QHBoxLayout;
    startRow->addWidget(m_start);
    startRow->addWidget(m_status, 1);
    auto *form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->addRow(tr("Port:"), portRow);
    form->addRow(QString(), m_bindWarning);
    form->addRow(tr("Mode:"), m_mode);
    form->addRow(tr("Greeting:"), m_greeting);
    form->addRow(tr("Origins:"), m_origins);
    form->addRow(m_tls);
    form->addRow(m_deflate);
    // Faults staged on purpose: folded away until asked for, but never silently on.
    m_misbehaveToggle->setObjectName(QStringLiteral("misbehaveToggle"));
    m_misbehaveToggle->setCheckable(true);
    m_misbehaveToggle->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_misbehaveToggle->setAutoRaise(true);
    m_misbehaveToggle->setArrowType(Qt::RightArrow);
    m_misbehaveToggle->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    m_misbehaviour->setObjectName(QStringLiteral("misbehaviourEditor"));
    m_misbehaviour->setVisible(false);
    connect(m_misbehaveToggle, &QToolButton::toggled, this, [this](bool open) {
        m_misbehaveToggle->setArrowType(open ? Qt::DownArrow : Qt::RightArrow);
        m_misbehaviour->setVisible(open);
    });
    connect(m_misbehaviour, &MisbehaviourEditor::changed, this,
            &ServerPanel::updateMisbehaveToggle);
    form->addRow(m_misbehaveToggle);
    form->addRow(m_misbehaviour);
    form->addRow(startRow);
    form->addRow(m_link);

    auto *sendRow = new QHBoxLayout;
    sendRow->addWidget(m_message, 1);
    sendRow->addWidget(m_sendOne);
    sendRow->addWidget(m_sendAll);
    auto *disconnectRow = new QHBoxLayout;
    disconnectRow->addWidget(m_disconnectCode, 1);
    disconnectRow->addWidget(m_disconnect);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 4, 6, 4);
    layout->setSpacing(4);
    layout->addLayout(form);
    layout->addWidget(m_clients, 1);
    layout->addLayout(sendRow);
    layout->addLayout(disconnectRow);
    layout->addWidget(m_log, 1);

    m_clientMisbehave->setObjectName(QStringLiteral("clientMisbehave"));
    m_clientMisbehave->setToolTip(tr("Change what the server does wrong with this client, "
                                     "while it runs"));
    connect(m_clientMisbehave, &QAction::triggered, this, [this] {
        if (const quint32 id = selectedClient())
            editClientMisbehaviour(id);
    });
    m_clients->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_clients, &QWidget::customContextMenuRequested, this, [this](const QPoint &at) {
        const QModelIndex index = m_clients->indexAt(at);
        if (!index.isValid())
            return;
        m_clients->setCurrentIndex(index);
        const quint32 id = selectedClient();
        m_clientMisbehave->setEnabled(id && m_hub->serverClient(id) && m_hub->isOpen(id));
        auto *menu = new QMenu(this);
        menu->setAttribute(Qt::WA_DeleteOnClose);
        menu->addAction(m_clientMisbehave);
        menu->popup(m_clients->viewport()->mapToGlobal(at));
    });

    loadSettings();
    connect(m_bind, &QComboBox::currentIndexChanged, this, &ServerPanel::updateForm);
    connect(m_mode, &QComboBox::currentIndexChanged, this, &ServerPanel::updateForm);
    connect(m_start, &QPushButton::clicked, this, [this] {
        if (isRunning())
            stop();
        else
            start();
    });
    connect(m_sendOne, &QPushButton::clicked, this, [this] {
        if (const quint32 id = selectedClient())
            sendToClients({id});
    });
    connect(m_sendAll, &QPushButton::clicked, this, [this] {
        QList<quint32> open;
        for (const quint32 id : m_hub->clientsOf(m_serverId)) {
            if (m_hub->isOpen(id))
                open.append(id);
        }
        sendToClients(open);
    });
    connect(m_message, &QLineEdit::returnPressed, m_sendAll, &QPushButton::click);
    connect(m_disconnect, &QPushButton::clicked, this, [this] {
        const quint32 id = selectedClient();
        if (!id)
            return;
        const quint16 code = quint16(m_disconnectCode->currentData().toUInt());
        const SendError result = m_hub->sendClose(id, code, tr("closed from the workbench"));
        if (result != SendError::None)
            emit statusMessage(tr("Not closed: %1").arg(QString::fromUtf8(sendErrorText(result))));
    });
    connect(m_clients->selectionModel(), &QItemSelectionModel::currentChanged, this,
            &ServerPanel::updateForm);
    // "Forget" rebuilds the tree: the list's root and selection are set again after.
    connect(m_clientsModel, &QAbstractItemModel::modelAboutToBeReset, this,
            [this] { m_selectionToRestore = selectedClient(); });
    connect(m_clientsModel, &QAbstractItemModel::modelReset, this, [this] {
        m_clients->setRootIndex(m_clientsModel->serverIndex());
        if (m_selectionToRestore)
            selectClient(m_selectionToRestore);
        m_selectionToRestore = 0;
        updateForm();
    });
    // The list follows the model; the buttons follow the clients' states.
    connect(hub, &ConnectionHub::endpointAdded, this, [this](quint32 id) {
        const EndpointInfo *info = m_hub->info(id);
        if (info && info->parentId == m_serverId && m_serverId != 0)
            updateForm();
    });
    connect(hub, &ConnectionHub::endpointsChanged, this, [this](const QList<quint32> &ids) {
        if (m_serverId == 0)
            return;
        for (const quint32 id : ids) {
            const EndpointInfo *info = m_hub->info(id);
            if (info && (info->parentId == m_serverId || id == m_serverId)) {
                updateForm();
                return;
            }
        }
    });
    connect(hub, &ConnectionHub::serverLog, this, [this](quint32 serverId, const QString &line) {
        if (serverId == m_serverId)
            m_log->appendPlainText(line);
    });
    connect(hub, &ConnectionHub::serverStopped, this, [this](quint32 serverId) {
        if (serverId != m_serverId)
            return;
        m_stopping = false;
        m_status->setText(tr("Stopped"));
        emit stopped(serverId);
        updateForm();
    });
    updateForm();
}

ServerPanel::~ServerPanel() = default;

void ServerPanel::loadSettings() {
    const QSettings settings;
    m_port->setValue(settings.value(PortKey, 9001).toInt());
    m_bind->setCurrentIndex(settings.value(BindAllKey, false).toBool() ? AllInterfaces : Loopback);
    const auto mode = modeFromName(settings.value(ModeKey, QStringLiteral("echo")).toString());
    m_mode->setCurrentIndex(m_mode->findData(int(mode.value_or(ServerOptions::Mode::Echo))));
    m_greeting->setText(
        settings.value(GreetingKey, QString::fromUtf8(ServerOptions().greeting)).toString());
    m_origins->setText(settings.value(OriginsKey).toString());
    m_tls->loadSettings(settings, TlsGroup);
    // A check box once kept TLS on or off as true or false, with the files it used.
    if (settings.value(TlsKey).toString() == QLatin1String("true"))
        m_tls->setChoice(m_tls->certificateFileEdit()->text() == localhostCertificateFile()
                             ? ListeningTlsEdit::Choice::Generated
                             : ListeningTlsEdit::Choice::Own);
    m_deflate->setChecked(settings.value(DeflateKey, false).toBool());
    m_misbehaviour->setMisbehaviour(misbehaviourFromMap(settings.value(MisbehaviourKey).toMap()));
    updateMisbehaveToggle();
}

void ServerPanel::saveSettings() const {
    QSettings settings;
    settings.setValue(PortKey, m_port->value());
    settings.setValue(BindAllKey, m_bind->currentData().toInt() == AllInterfaces);
    settings.setValue(ModeKey, m_mode->currentText());
    settings.setValue(GreetingKey, m_greeting->text());
    settings.setValue(OriginsKey, m_origins->text());
    m_tls->saveSettings(settings, TlsGroup);
    settings.setValue(DeflateKey, m_deflate->isChecked());
    settings.setValue(MisbehaviourKey, misbehaviourToMap(m_misbehaviour->misbehaviour()));
}

ServerOptions ServerPanel::options(QString *error) const {
    ServerOptions options;
    if (m_tls->choice() != ListeningTlsEdit::Choice::Off) {
        QString why;
        if (const std::optional<CertificateAndKey> identity = m_tls->identity(&why)) {
            options.tlsCertificate = identity->certificate;
            options.tlsKey = identity->key;
        } else if (error) {
            *error = tr("TLS: %1").arg(why.isEmpty() ? tr("no certificate and key") : why);
        }
    }
    if (m_deflate->isChecked())
        options.deflate.policy = DeflatePolicy::Offer;
    options.port = quint16(m_port->value());
    options.bindAddress = m_bind->currentData().toInt() == AllInterfaces
                              ? QHostAddress(QHostAddress::AnyIPv4)
                              : QHostAddress(QHostAddress::LocalHost);
    options.mode = ServerOptions::Mode(m_mode->currentData().toInt());
    options.greeting = m_greeting->text().toUtf8();
    static const QRegularExpression separators(QStringLiteral("[\\s,]+"));
    for (const QString &origin : m_origins->text().split(separators, Qt::SkipEmptyParts))
        options.allowedOrigins.append(origin.toUtf8());
    options.closeTimeoutMs = StopTimeoutMs;
    options.misbehaviour = m_misbehaviour->misbehaviour();
    return options;
}

bool ServerPanel::start() {
    QString error;
    const ServerOptions form = options(&error);
    if (!error.isEmpty()) {
        m_status->setText(tr("Not started"));
        m_status->setToolTip(error);
        emit statusMessage(error);
        return false;
    }
    return start(form);
}

bool ServerPanel::start(const ServerOptions &options) {
    if (isRunning())
        return true;
    // The form shows what runs, also when the options came from elsewhere (the
    // window's one-click echo).
    m_port->setValue(options.port);
    m_bind->setCurrentIndex(
        options.bindAddress == QHostAddress(QHostAddress::LocalHost) ? Loopback : AllInterfaces);
    m_mode->setCurrentIndex(m_mode->findData(int(options.mode)));
    m_greeting->setText(QString::fromUtf8(options.greeting));
    QStringList origins;
    for (const QByteArray &origin : options.allowedOrigins)
        origins.append(QString::fromUtf8(origin));
    m_origins->setText(origins.join(QLatin1Char(' ')));
    // Options with a certificate come from the form's own choice; without one, the form
    // shows TLS off.
    if (!options.isSecure())
        m_tls->setChoice(ListeningTlsEdit::Choice::Off);
    m_deflate->setChecked(options.deflate.policy != DeflatePolicy::Refuse);
    m_misbehaviour->setMisbehaviour(options.misbehaviour);
    updateMisbehaveToggle();
    saveSettings();
    QString error;
    const quint32 id = m_hub->startServer(options, &error);
    if (!id) {
        m_status->setText(tr("Not started"));
        m_status->setToolTip(error);
        emit statusMessage(error);
        updateForm();
        return false;
    }
    m_serverId = id;
    m_stopping = false;
    m_log->clear();
    m_status->setToolTip({});
    m_status->setText(listeningText());
    showClientsOf(id);
    updateForm();
    emit started(id);
    return true;
}

void ServerPanel::stop() {
    if (!isRunning())
        return;
    m_stopping = true;
    m_status->setText(tr("Stopping: closing clients with 1001\u2026"));
    m_hub->stopServer(m_serverId);
    updateForm();
}

QString ServerPanel::listeningText() const {
    const EndpointInfo *info = m_hub->info(m_serverId);
    return info && info->secure ? tr("Listening on port %1 (wss)").arg(boundPort())
                                : tr("Listening on port %1").arg(boundPort());
}

bool ServerPanel::isRunning() const {
    const EndpointInfo *info = m_hub->info(m_serverId);
    return info && !info->finished;
}

quint16 ServerPanel::boundPort() const {
    const Server *server = isRunning() ? m_hub->server(m_serverId) : nullptr;
    return server ? server->port() : 0;
}

QString ServerPanel::testPageUrl() const {
    const quint16 port = boundPort();
    if (!port)
        return {};
    const EndpointInfo *info = m_hub->info(m_serverId);
    // The test page comes from the server itself, over TLS when it speaks TLS.
    return QStringLiteral("%1://127.0.0.1:%2/")
        .arg(info && info->secure ? QLatin1String("https") : QLatin1String("http"))
        .arg(port);
}

quint32 ServerPanel::selectedClient() const {
    const QModelIndex current = m_clients->currentIndex();
    // The root (the server's node) is never a row of the list.
    return current.isValid() && current.parent() == m_clients->rootIndex()
               ? m_clientsModel->idOf(current)
               : 0;
}

void ServerPanel::selectClient(quint32 id) {
    const QModelIndex index = m_clientsModel->indexOf(id);
    if (index.isValid())
        m_clients->setCurrentIndex(index);
}

void ServerPanel::showClientsOf(quint32 serverId) {
    m_clientsModel->setServerId(serverId);
    m_clients->setRootIndex(m_clientsModel->serverIndex());
}

void ServerPanel::sendToClients(const QList<quint32> &ids) {
    const QByteArray text = m_message->text().toUtf8();
    int sent = 0;
    for (const quint32 id : ids) {
        if (m_hub->sendText(id, text) == SendError::None)
            ++sent;
    }
    if (sent == 0)
        emit statusMessage(tr("Not sent: no open client selected"));
}

void ServerPanel::updateForm() {
    const bool running = isRunning();
    const bool editable = !running && !m_stopping;
    m_port->setEnabled(editable);
    m_bind->setEnabled(editable);
    m_mode->setEnabled(editable);
    m_greeting->setEnabled(editable &&
                           m_mode->currentData().toInt() == int(ServerOptions::Mode::Greeting));
    m_origins->setEnabled(editable);
    m_tls->setEditable(editable);
    m_deflate->setEnabled(editable);
    m_misbehaviour->setEnabled(editable);
    m_bindWarning->setVisible(m_bind->currentData().toInt() == AllInterfaces);
    m_start->setText(running ? (m_stopping ? tr("Stopping\u2026") : tr("Stop")) : tr("Start"));
    m_start->setEnabled(!m_stopping);
    const QString url = testPageUrl();
    if (url.isEmpty()) {
        m_link->setText(tr("Start the server to get its browser test page."));
    } else {
        m_link->setText(tr("Browser test page: <a href=\"%1\">%1</a>").arg(url));
        if (!m_stopping)
            m_status->setText(listeningText());
    }
    const quint32 selected = selectedClient();
    const bool selectedOpen = selected && m_hub->isOpen(selected);
    m_sendOne->setEnabled(selectedOpen);
    m_disconnect->setEnabled(selectedOpen);
    bool anyOpen = false;
    for (const quint32 id : m_hub->clientsOf(m_serverId))
        anyOpen = anyOpen || m_hub->isOpen(id);
    m_sendAll->setEnabled(anyOpen);
}

void ServerPanel::updateMisbehaveToggle() {
    const QStringList on = m_misbehaviour->misbehaviour().describe();
    if (on.isEmpty()) {
        m_misbehaveToggle->setText(tr("Misbehave: off"));
        m_misbehaveToggle->setToolTip(tr("Stage faults for every client: delays, fragments, "
                                         "missing pongs, abrupt closes, bad frames, broken "
                                         "handshakes, server-initiated traffic"));
        m_misbehaveToggle->setStyleSheet({});
    } else {
        m_misbehaveToggle->setText(tr("Misbehave: ON (%n fault(s))", nullptr, int(on.size())));
        m_misbehaveToggle->setToolTip(on.join(QLatin1Char('\n')));
        m_misbehaveToggle->setStyleSheet(QStringLiteral("color: #b71c1c; font-weight: bold;"));
    }
}

QDialog *ServerPanel::editClientMisbehaviour(quint32 id) {
    ServerClient *client = m_hub->serverClient(id);
    if (!client || !m_hub->isOpen(id))
        return nullptr;
    auto *dialog = new QDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setObjectName(QStringLiteral("clientMisbehaviourDialog"));
    dialog->setWindowTitle(tr("Misbehave with peer %1").arg(client->id()));
    auto *editor = new MisbehaviourEditor(dialog);
    editor->setMisbehaviour(client->misbehaviour());
    auto *note = new QLabel(tr("Takes effect at once for this client only; the handshake "
                               "options no longer apply to it."),
                            dialog);
    note->setWordWrap(true);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, dialog);
    auto *layout = new QVBoxLayout(dialog);
    layout->addWidget(note);
    layout->addWidget(editor);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    // The client may be gone by the time the dialog is accepted.
    const QPointer<ServerClient> target(client);
    connect(dialog, &QDialog::accepted, this, [this, target, editor] {
        if (!target || target->isFinished()) {
            emit statusMessage(tr("Not changed: the client is gone"));
            return;
        }
        target->setMisbehaviour(editor->misbehaviour());
    });
    dialog->open();
    return dialog;
}

} // namespace ws
