#pragma once

#include <QByteArray>
#include <QString>

#include <functional>

class QObject;
class QTcpSocket;

namespace ws::probe {

struct RunOptions;

// The socket of one case's connection to the target: plain TCP for ws://, TLS for
// wss:// with the certificate checks of `wsw connect` (the system's authorities plus
// RunOptions::caCertificatesFile; a certificate that cannot be verified is accepted
// only when its SHA-256 is RunOptions::acceptedFingerprint). `ready` runs once the
// byte stream is up (TCP connected, or the TLS handshake done); `failed` runs when it
// cannot be (refused, unreachable, a certificate refused, nothing within
// RunOptions::connectTimeoutMs), with the reason in words.
// The socket is opened unbuffered when plain (CaseRun writes its chops straight to
// the descriptor); a QSslSocket carries TLS records and is written through Qt.
QTcpSocket *openProbeSocket(const RunOptions &options, QObject *owner, bool unbuffered,
                            std::function<void()> ready, std::function<void(QString)> failed);

// Whether `socket` carries TLS (its descriptor must then not be written directly).
bool isTlsSocket(const QTcpSocket *socket);

} // namespace ws::probe
