from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('andon', '0007_signals')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IngestMark',
            fields=[
                ('instance', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=100)),
                ('behind_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ingest_mark', 'app': 'andon', 'pk_attr': 'instance', 'table_description': "How far one gateway instance's MQTT ingestion has applied what it received: detection on the"},
            bases=['Model'],
        ),
    ]
