#pragma once

#include "probe/probecase.h"

#include <QRandomGenerator>

// What the parts of the catalogue (catalogue*.cpp) share.
namespace ws::probe {

// A frame with `rsv` as the three RSV bits (4: RSV1, 2: RSV2, 1: RSV3, as Autobahn
// numbers them); the masking key is added when it is sent.
RawFrame frame(quint8 opcode, const QByteArray &payload, bool fin = true, int rsv = 0);
ProbeCase makeCase(const QString &id, const QString &description, const QString &expectation,
                   const QString &rfc);
// We close, with 1000, and both close frames must go.
ExpectedClose normalClose();
// The peer fails the connection with one of `codes` (or drops TCP).
ExpectedClose failedByPeer(QList<quint16> codes, bool fatal = false);
// A judge: a close code outside the expected set fails the case itself.
void wrongCodeFails(CaseResult &result);
// The invalid UTF-8 of 6.3.1 and 7.5.1.
QByteArray invalidUtf8Reason();

void appendHandshakeCases(QList<ProbeCase> &cases);
void appendTimingCases(QList<ProbeCase> &cases);
void appendDeflateCases(QList<ProbeCase> &cases);

} // namespace ws::probe
