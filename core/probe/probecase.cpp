#include "probe/probecase.h"

namespace ws::probe {

QString verdictName(Verdict verdict) {
    switch (verdict) {
    case Verdict::Ok:
        return QStringLiteral("OK");
    case Verdict::NonStrict:
        return QStringLiteral("NON-STRICT");
    case Verdict::Informational:
        return QStringLiteral("INFORMATIONAL");
    case Verdict::Unimplemented:
        return QStringLiteral("UNIMPLEMENTED");
    case Verdict::Failed:
        return QStringLiteral("FAILED");
    case Verdict::WrongCode:
        return QStringLiteral("WRONG CODE");
    case Verdict::Unclean:
        return QStringLiteral("UNCLEAN");
    case Verdict::FailedByClient:
        return QStringLiteral("FAILED BY CLIENT");
    }
    return {};
}

QList<Verdict> allVerdicts() {
    return {Verdict::Ok,     Verdict::NonStrict, Verdict::Informational, Verdict::Unimplemented,
            Verdict::Failed, Verdict::WrongCode, Verdict::Unclean,       Verdict::FailedByClient};
}

std::optional<Verdict> verdictFromName(const QString &name) {
    for (Verdict verdict : allVerdicts()) {
        if (verdictName(verdict).compare(name, Qt::CaseInsensitive) == 0)
            return verdict;
    }
    return std::nullopt;
}

QString describe(const Observation &observation) {
    auto payloadText = [](const QByteArray &payload) {
        if (payload.size() > 40)
            return QStringLiteral("%1 bytes").arg(payload.size());
        bool printable = true;
        for (char c : payload)
            printable = printable && c >= 0x20 && c < 0x7f;
        return printable ? QStringLiteral("'%1'").arg(QString::fromLatin1(payload))
                         : QStringLiteral("0x%1").arg(QString::fromLatin1(payload.toHex()));
    };
    switch (observation.kind) {
    case Observation::Kind::Message:
        return QStringLiteral("message %1 %2")
            .arg(observation.binary ? u"binary" : u"text", payloadText(observation.payload));
    case Observation::Kind::Ping:
        return QStringLiteral("ping %1").arg(payloadText(observation.payload));
    case Observation::Kind::Pong:
        return QStringLiteral("pong %1").arg(payloadText(observation.payload));
    case Observation::Kind::Timeout:
        return QStringLiteral("timeout %1").arg(QString::fromLatin1(observation.payload));
    }
    return {};
}

void judgeBehavior(CaseResult &result) {
    for (const auto &[verdict, observations] : result.expected) {
        if (result.received == observations) {
            result.behavior = verdict;
            result.result = QStringLiteral("Actual events match at least one expected.");
            return;
        }
    }
}

void judgeClose(CaseResult &result) {
    const ExpectedClose &expected = result.expectedClose;
    if (expected.closedByMe != result.closedByMe) {
        result.behaviorClose = Verdict::Failed;
        result.resultClose = QStringLiteral("The connection was failed by the wrong endpoint");
        if (expected.closedByWrongEndpointIsFatal) {
            result.behavior = Verdict::Failed;
            result.result = result.resultClose;
        }
    } else if (expected.requireClean && !result.wasClean) {
        result.behaviorClose = Verdict::Unclean;
        result.resultClose =
            QStringLiteral("The spec requires the connection to be failed cleanly here");
    } else if (result.remoteCloseCode && !expected.codes.contains(*result.remoteCloseCode)) {
        QStringList codes;
        for (quint16 code : expected.codes)
            codes.append(QString::number(code));
        result.behaviorClose = Verdict::WrongCode;
        result.resultClose =
            QStringLiteral("The close code should have been %1 or empty").arg(codes.join(u','));
    } else if (result.droppedByMe && !result.isServer) {
        result.behaviorClose = Verdict::FailedByClient;
        result.resultClose = QStringLiteral("It is preferred that the server close the TCP "
                                            "connection (RFC 6455 §7.1.1)");
    } else {
        result.behaviorClose = Verdict::Ok;
        result.resultClose = QStringLiteral("Connection was properly closed");
    }
}

} // namespace ws::probe
